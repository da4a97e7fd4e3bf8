/* LD_PRELOAD shim for golden IPC vectors: wraps libqb's client calls and logs every request,
 * response and event a corosync client library exchanges, as hex, to the file named by
 * $TOTEM_IPC_LOG (appended, one line per message, written with one write(2) so that lines of
 * concurrent processes never interleave).
 *
 *   <service> <req|res|ev> <bytes> <hex>
 *
 * <service> is the name given to qb_ipcc_connect ("cmap", "cpg", ...). Only messages that
 * really went through are logged: a send that failed (-EAGAIN under flow control, then retried
 * by the library) and a receive that returned no message are left out.
 *
 * libqb 2.0.6's qb_ipcc_sendv_recv calls qb_ipcc_sendv and qb_ipcc_recv through the PLT, so
 * the wrappers below see those calls and log them; should a build call them directly, the
 * sendv_recv wrapper logs the exchange itself.
 *
 * Build: gcc -shared -fPIC -O1 -o qb-ipc-shim.so qb-ipc-shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <qb/qbipcc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_CONNS 64

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    qb_ipcc_connection_t *c;
    char name[32];
} conns[MAX_CONNS];
static __thread int logged_in_call; /* messages logged since the sendv_recv wrapper began */

static const char *service_of(qb_ipcc_connection_t *c) {
    const char *name = "?";
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_CONNS; ++i)
        if (conns[i].c == c) name = conns[i].name;
    pthread_mutex_unlock(&lock);
    return name;
}

static void log_msg(qb_ipcc_connection_t *c, const char *dir, const struct iovec *iov,
                    size_t iov_len, size_t limit) {
    const char *path = getenv("TOTEM_IPC_LOG");
    if (path == NULL) return;
    size_t total = 0;
    for (size_t i = 0; i < iov_len; ++i) total += iov[i].iov_len;
    if (total > limit) total = limit;
    const char *svc = service_of(c);
    size_t cap = strlen(svc) + 64 + 2 * total;
    char *line = malloc(cap);
    if (line == NULL) return;
    int n = snprintf(line, cap, "%s %s %zu ", svc, dir, total);
    size_t pos = (size_t)n, left = total;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < iov_len && left > 0; ++i) {
        const unsigned char *p = iov[i].iov_base;
        size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
        for (size_t j = 0; j < k; ++j) {
            line[pos++] = hex[p[j] >> 4];
            line[pos++] = hex[p[j] & 15];
        }
        left -= k;
    }
    line[pos++] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, line, pos);
        (void)w;
        close(fd);
    }
    free(line);
    ++logged_in_call;
}

typedef qb_ipcc_connection_t *(*connect_fn)(const char *, size_t);
typedef void (*disconnect_fn)(qb_ipcc_connection_t *);
typedef ssize_t (*send_fn)(qb_ipcc_connection_t *, const void *, size_t);
typedef ssize_t (*sendv_fn)(qb_ipcc_connection_t *, const struct iovec *, size_t);
typedef ssize_t (*recv_fn)(qb_ipcc_connection_t *, void *, size_t, int32_t);
typedef ssize_t (*sendv_recv_fn)(qb_ipcc_connection_t *, const struct iovec *, uint32_t, void *,
                                 size_t, int32_t);

/* REAL(name, type): the next definition of `name` (libqb's), looked up once. */
#define REAL(name, type)   \
    static type real_##name; \
    if (real_##name == NULL) real_##name = (type)dlsym(RTLD_NEXT, #name)

qb_ipcc_connection_t *qb_ipcc_connect(const char *name, size_t max_msg_size) {
    REAL(qb_ipcc_connect, connect_fn);
    qb_ipcc_connection_t *c = real_qb_ipcc_connect(name, max_msg_size);
    if (c != NULL) {
        pthread_mutex_lock(&lock);
        for (int i = 0; i < MAX_CONNS; ++i) {
            if (conns[i].c == NULL || conns[i].c == c) {
                conns[i].c = c;
                snprintf(conns[i].name, sizeof conns[i].name, "%s", name);
                break;
            }
        }
        pthread_mutex_unlock(&lock);
    }
    return c;
}

void qb_ipcc_disconnect(qb_ipcc_connection_t *c) {
    REAL(qb_ipcc_disconnect, disconnect_fn);
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_CONNS; ++i)
        if (conns[i].c == c) conns[i].c = NULL;
    pthread_mutex_unlock(&lock);
    real_qb_ipcc_disconnect(c);
}

ssize_t qb_ipcc_send(qb_ipcc_connection_t *c, const void *msg, size_t len) {
    REAL(qb_ipcc_send, send_fn);
    ssize_t rc = real_qb_ipcc_send(c, msg, len);
    if (rc > 0) {
        struct iovec iov = {(void *)msg, len};
        log_msg(c, "req", &iov, 1, len);
    }
    return rc;
}

ssize_t qb_ipcc_sendv(qb_ipcc_connection_t *c, const struct iovec *iov, size_t iov_len) {
    REAL(qb_ipcc_sendv, sendv_fn);
    ssize_t rc = real_qb_ipcc_sendv(c, iov, iov_len);
    if (rc > 0) log_msg(c, "req", iov, iov_len, (size_t)-1);
    return rc;
}

ssize_t qb_ipcc_recv(qb_ipcc_connection_t *c, void *msg, size_t len, int32_t timeout) {
    REAL(qb_ipcc_recv, recv_fn);
    ssize_t rc = real_qb_ipcc_recv(c, msg, len, timeout);
    if (rc > 0) {
        struct iovec iov = {msg, (size_t)rc};
        log_msg(c, "res", &iov, 1, (size_t)rc);
    }
    return rc;
}

ssize_t qb_ipcc_event_recv(qb_ipcc_connection_t *c, void *msg, size_t len, int32_t timeout) {
    REAL(qb_ipcc_event_recv, recv_fn);
    ssize_t rc = real_qb_ipcc_event_recv(c, msg, len, timeout);
    if (rc > 0) {
        struct iovec iov = {msg, (size_t)rc};
        log_msg(c, "ev", &iov, 1, (size_t)rc);
    }
    return rc;
}

ssize_t qb_ipcc_sendv_recv(qb_ipcc_connection_t *c, const struct iovec *iov, uint32_t iov_len,
                           void *msg, size_t len, int32_t timeout) {
    REAL(qb_ipcc_sendv_recv, sendv_recv_fn);
    logged_in_call = 0;
    ssize_t rc = real_qb_ipcc_sendv_recv(c, iov, iov_len, msg, len, timeout);
    if (logged_in_call == 0 && rc > 0) { /* the inner calls were not interposed */
        log_msg(c, "req", iov, iov_len, (size_t)-1);
        struct iovec res = {msg, (size_t)rc};
        log_msg(c, "res", &res, 1, (size_t)rc);
    }
    return rc;
}

// totem-keygen: the authkey as corosync-keygen makes it (tools/corosync-keygen.c of corosync
// 3.1.7): 256 random bytes by default (-s 128..4096), mode 0400, the same options and lines.
// Two differences, both deliberate: the bytes come from OpenSSL's RAND_bytes() unless -r names a
// random file, and an existing key file is never overwritten without -f (the new key is
// written to a temporary file beside it and linked or renamed into place, so a half-written key
// never replaces a good one).
#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tools/common/util.hpp"

namespace {

constexpr const char* kDefaultKeyfile = "/etc/corosync/authkey";
constexpr std::size_t kDefaultKeyLen = 256;
constexpr long long kKeyLenMin = 128;   // TOTEM_PRIVATE_KEY_LEN_MIN (KNET_MIN_KEY_LEN)
constexpr long long kKeyLenMax = 4096;  // TOTEM_PRIVATE_KEY_LEN_MAX (KNET_MAX_KEY_LEN)

const char usage[] =
    "Usage: totem-keygen [-k <keyfile>] [-s size] [-m <randomfile>] [-l] [-f] [-h]\n"
    "     -k / --key-file=<filename> -  Write to the specified keyfile\n"
    "            instead of the default /etc/corosync/authkey.\n"
    "     -r / --random-file -  Random number source file. Default is \n"
    "            OpenSSL's RAND_bytes(). As an example /dev/random may be requested\n"
    "            (that may require user input for entropy).\n"
    "     -l / --less-secure - Not used, option is kept only\n"
    "            for compatibility.\n"
    "     -s / --size -  Length of key.\n"
    "     -f / --force -  Overwrite an existing key file.\n"
    "     --json -  Print what was written as JSON (schema totem-keygen/1).\n"
    "     -h / --help -  Print basic usage.\n";

bool g_json = false;

}  // namespace

int main(int argc, char* argv[]) {
    const char* keyfile = nullptr;
    const char* random_dev = nullptr;  // nullptr: OpenSSL
    std::size_t key_len = kDefaultKeyLen;
    bool force = false;
    int option_index = 0;
    static struct option long_options[] = {{"key-file", required_argument, nullptr, 'k'},
                                           {"less-secure", no_argument, nullptr, 'l'},
                                           {"random-file", required_argument, nullptr, 'r'},
                                           {"size", required_argument, nullptr, 's'},
                                           {"force", no_argument, nullptr, 'f'},
                                           {"json", no_argument, nullptr, 'J'},
                                           {"help", no_argument, nullptr, 'h'},
                                           {nullptr, 0, nullptr, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "k:r:s:lfh", long_options, &option_index)) != -1) {
        switch (c) {
            case 'k':
                keyfile = optarg;
                break;
            case 'l':
                break;  // only kept for compatibility
            case 'r':
                random_dev = optarg;
                break;
            case 's': {
                char* ep = nullptr;
                errno = 0;
                const long long v = std::strtoll(optarg, &ep, 10);
                if (v < kKeyLenMin || v > kKeyLenMax || errno != 0 || *ep != '\0')
                    errx(1, "Unsupported key size (supported <%u,%u>)\n",
                         static_cast<unsigned>(kKeyLenMin), static_cast<unsigned>(kKeyLenMax));
                key_len = static_cast<std::size_t>(v);
                break;
            }
            case 'f':
                force = true;
                break;
            case 'J':
                g_json = true;
                break;
            case 'h':
                std::printf("%s\n", usage);
                std::exit(0);
            default:
                std::printf("Error parsing command line options.\n");
                std::exit(1);
        }
    }
    if (!g_json)
        std::printf("Corosync Cluster Engine Authentication key generator.\n");
    if (!keyfile)
        keyfile = kDefaultKeyfile;
    if (!g_json)
        std::printf("Gathering %lu bits for key from %s.\n",
                    static_cast<unsigned long>(key_len * 8), random_dev ? random_dev : "OpenSSL");

    std::vector<unsigned char> key(key_len);
    if (random_dev == nullptr) {
        if (RAND_bytes(key.data(), static_cast<int>(key_len)) != 1)
            errx(1, "OpenSSL RAND_bytes failed");
    } else {
        const int random_fd = open(random_dev, O_RDONLY);
        if (random_fd == -1)
            err(1, "Failed to open random source");
        if (std::strcmp(random_dev, "/dev/random") == 0 && !g_json)
            std::printf("Press keys on your keyboard to generate entropy.\n");
        std::size_t bytes_read = 0;
        while (bytes_read != key_len) {
            const ssize_t res = read(random_fd, &key[bytes_read], key_len - bytes_read);
            if (res == -1)
                err(1, "Could not read /dev/random");
            if (res == 0)
                errx(1, "%s ended before %zu bytes were read", random_dev, key_len);
            bytes_read += static_cast<std::size_t>(res);
            if (bytes_read != key_len && !g_json)
                std::printf(
                    "Press keys on your keyboard to generate entropy (%d bits still "
                    "needed).\n",
                    static_cast<int>((key_len - bytes_read) * 8));
        }
        close(random_fd);
    }

    // Refuse early, before writing anything, when the file exists and -f is not given.
    struct stat st {};
    if (!force && lstat(keyfile, &st) == 0)
        errx(2, "%s already exists; use -f to overwrite it", keyfile);

    // The key goes to a temporary file in the same directory first.
    std::string tmp = std::string(keyfile) + ".XXXXXX";
    const int authkey_fd = mkstemp(tmp.data());
    if (authkey_fd == -1)
        err(2, "Could not create %s", keyfile);
    if (fchmod(authkey_fd, 0400)) {
        unlink(tmp.c_str());
        err(3, "Failed to set key file permissions to 0400");
    }
    if (!g_json)
        std::printf("Writing corosync key to %s.\n", keyfile);
    const ssize_t res = write(authkey_fd, key.data(), key_len);
    if (res != static_cast<ssize_t>(key_len)) {
        unlink(tmp.c_str());
        err(4, "Could not write %s", keyfile);
    }
    if (fsync(authkey_fd) || close(authkey_fd)) {
        unlink(tmp.c_str());
        err(5, "Could not close %s", keyfile);
    }
    if (force) {
        if (rename(tmp.c_str(), keyfile)) {
            unlink(tmp.c_str());
            err(2, "Could not create %s", keyfile);
        }
    } else {
        // link() fails with EEXIST if the file appeared meanwhile: never overwritten.
        const int linked = link(tmp.c_str(), keyfile);
        const int saved = errno;
        unlink(tmp.c_str());
        if (linked) {
            errno = saved;
            if (saved == EEXIST)
                errx(2, "%s already exists; use -f to overwrite it", keyfile);
            err(2, "Could not create %s", keyfile);
        }
    }
    if (g_json) {
        totem::tools::Json d = totem::tools::json_doc("totem-keygen");
        d["ok"] = true;
        d["keyfile"] = keyfile;
        d["bytes"] = static_cast<unsigned long>(key_len);
        d["bits"] = static_cast<unsigned long>(key_len * 8);
        d["source"] = random_dev ? random_dev : "openssl";
        d["mode"] = "0400";
        totem::tools::print_json(d);
    }
    return 0;
}

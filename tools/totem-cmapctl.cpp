// totem-cmapctl: corosync-cmapctl's flags, output, error lines and exit codes
// (tools/corosync-cmapctl.c of corosync 3.1.7), on libtotem. On top: --json (schema
// totem-cmapctl/1, docs/tools-json.md), and -t/-T end cleanly on SIGINT/SIGTERM (the output
// is flushed, the connection closed, exit 0).
#include <poll.h>
#include <unistd.h>

#include <cctype>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "tools/common/util.hpp"
#include "totem/client.hpp"

using namespace totem::client;
using totem::tools::Json;

namespace {

constexpr int kMaxTryAgain = 10;

enum class Action { get, set, delete_, delete_prefix, print_prefix, track, load, clearstats };

struct TypeName {
    const char* name;
    ValueType type;
};
const TypeName name_to_type[] = {
    {"i8", ValueType::int8},     {"u8", ValueType::uint8},   {"i16", ValueType::int16},
    {"u16", ValueType::uint16},  {"i32", ValueType::int32},  {"u32", ValueType::uint32},
    {"i64", ValueType::int64},   {"u64", ValueType::uint64}, {"flt", ValueType::float_},
    {"dbl", ValueType::double_}, {"str", ValueType::string}, {"bin", ValueType::binary}};

int show_binary = 0;
int quiet = 0;
bool g_json = false;
volatile std::sig_atomic_t g_stop = 0;
Json g_keys = Json::array();    // --json: the keys printed
Json g_errors = Json::array();  // --json: what failed
const char* g_map_name = "icmap";
const char* g_action = "list";  // --json: the action's name (action_name())

int cs(const std::error_code& ec) {
    return ec ? ec.value() : 1;
}

void json_failure(const std::string& key, const std::error_code& ec) {
    Json e = totem::tools::json_error(ec);
    if (!key.empty())
        e["key"] = key;
    g_errors.push_back(e);
}

int convert_name_to_type(const char* name) {
    for (const auto& t : name_to_type)
        if (std::strcmp(name, t.name) == 0)
            return static_cast<int>(t.type);
    return -1;
}

int print_help() {
    std::printf("\n");
    std::printf("usage:  totem-cmapctl [-b] [-DdghsqTCt] [-p filename] [-m map] [params...]\n");
    std::printf("\n");
    std::printf("    -b show binary values\n");
    std::printf("\n");
    std::printf("    -m select map to use\n");
    std::printf(
        "          The  default  map is 'icmap' which contains configuration information and "
        "some runtime variables used by corosync. \n");
    std::printf(
        "          A 'stats' map is also available which displays network statistics - in great "
        "detail when knet is used as the transport.\n");
    std::printf("Set key:\n");
    std::printf("    totem-cmapctl -s key_name type value\n");
    std::printf("\n");
    std::printf("    where type is one of ([i|u][8|16|32|64] | flt | dbl | str | bin)\n");
    std::printf("    for bin, value is file name (or - for stdin)\n");
    std::printf("\n");
    std::printf("    map can be either 'icmap' (the default) which contains corosync\n");
    std::printf("    configuration information, or 'stats' which contains statistics\n");
    std::printf("    about the networking and IPC traffic in some detail.\n");
    std::printf("\n");
    std::printf("Clear stats:\n");
    std::printf("    totem-cmapctl -C [knet|ipc|totem|schedmiss|all]\n");
    std::printf("    The 'stats' map is implied\n");
    std::printf("\n");
    std::printf("Load settings from a file:\n");
    std::printf("    totem-cmapctl -p filename\n");
    std::printf("\n");
    std::printf("    the format of the file is:\n");
    std::printf("    [^[^]]<key_name>[ <type> <value>]\n");
    std::printf("    Keys prefixed with single caret ('^') are deleted (see -d).\n");
    std::printf(
        "    Keys (actually prefixes) prefixed with double caret ('^^') are deleted by prefix "
        "(see -D).\n");
    std::printf("    <type> and <value> are optional (not checked) in above cases.\n");
    std::printf("    Other keys are set (see -s) so both <type> and <value> are required.\n");
    std::printf("\n");
    std::printf("Delete key:\n");
    std::printf("    totem-cmapctl -d key_name...\n");
    std::printf("\n");
    std::printf("Delete multiple keys with prefix:\n");
    std::printf("    totem-cmapctl -D key_prefix...\n");
    std::printf("\n");
    std::printf("Get key:\n");
    std::printf("    totem-cmapctl [-b] -g key_name...\n");
    std::printf("\n");
    std::printf("Quiet mode:\n");
    std::printf("    totem-cmapctl [-b] -q -g key_name...\n");
    std::printf("\n");
    std::printf("Display all keys:\n");
    std::printf("    totem-cmapctl [-b]\n");
    std::printf("\n");
    std::printf("Display keys with prefix key_name:\n");
    std::printf("    totem-cmapctl [-b] key_name...\n");
    std::printf("\n");
    std::printf("Track changes on keys with key_name:\n");
    std::printf("    totem-cmapctl [-b] -t key_name\n");
    std::printf("\n");
    std::printf("Track changes on keys with key prefix:\n");
    std::printf("    totem-cmapctl [-b] -T key_prefix\n");
    std::printf("\n");
    // totemd's additions, after corosync-cmapctl's text.
    std::printf(
        "JSON output (schema totem-cmapctl/1; one document, one line per change with -t/-T):\n");
    std::printf("    totem-cmapctl --json [options] [params...]\n");
    std::printf("\n");
    std::printf("This text: totem-cmapctl -h (or --help)\n");
    std::printf("\n");
    return 0;
}

void print_binary_key(const std::uint8_t* value, std::size_t value_len) {
    for (std::size_t i = 0; i < value_len; i++) {
        // A plain (signed) char, as corosync-cmapctl: bytes ≥ 0x80 print as \xFFFFFF80.
        const char c = static_cast<char>(value[i]);
        if (c >= ' ' && c < 0x7f && c != '\\') {
            std::fputc(c, stdout);
        } else if (c == '\\') {
            std::printf("\\\\");
        } else {
            std::printf("\\x%02X", static_cast<unsigned int>(static_cast<int>(c)));
        }
    }
}

Json json_value(const Value& v) {
    switch (v.type()) {
        case ValueType::float_:
        case ValueType::double_:
            return *v.as_double();
        case ValueType::string:
            return *v.as_string();
        case ValueType::binary:
            return totem::tools::hex(v.bytes().data(), v.bytes().size());
        case ValueType::uint8:
        case ValueType::uint16:
        case ValueType::uint32:
        case ValueType::uint64:
            if (auto u = v.as_uint())
                return static_cast<unsigned long long>(*u);
            return nullptr;
        default:
            if (auto i = v.as_int())
                return static_cast<long long>(*i);
            return nullptr;
    }
}

// print_key(): `value` is the value a notification carried; without it the key is read with
// the typed get corosync-cmapctl uses (retried on CS_ERR_TRY_AGAIN up to 10 times).
void print_key(Cmap& handle, const std::string& key_name, std::uint64_t value_len,
               const Value* value, ValueType type, Json* json_event = nullptr) {
    std::optional<Value> fetched;
    std::error_code err;
    for (int no_retries = 0;;) {
        err.clear();
        if (value == nullptr) {
            Result<Value> r = Errc::ok;
            switch (type) {
                case ValueType::string:
                    if (auto s = handle.get_string(key_name)) {
                        r = Value::str(*s);
                    } else {
                        r = s.error();
                    }
                    break;
                case ValueType::binary:
                    if (show_binary || g_json)
                        r = handle.get_raw(key_name, value_len);
                    else
                        r = Value(ValueType::binary, {});
                    break;
                default: {
                    // cmap_get_<type>(): a 16-byte buffer, the type must match.
                    auto v = handle.get_raw(key_name, 16);
                    if (v && v->type() != type)
                        r = Errc::invalid_param;
                    else
                        r = std::move(v);
                    break;
                }
            }
            if (r)
                fetched = std::move(*r);
            else
                err = r.error();
        }
        if (!err || err != Errc::try_again)
            break;
        sleep(1);
        if (++no_retries > kMaxTryAgain)
            break;
    }
    if (err) {
        std::fprintf(stderr, "Can't get value of %s. Error %s\n", key_name.c_str(),
                     cs_strerror(cs(err)));
        if (g_json) {
            Json k = Json::object();
            k["name"] = key_name;
            k["type"] = type_name(type);
            k["error"] = totem::tools::json_error(err);
            if (json_event) {
                (*json_event)["key"] = k;
            } else {
                g_keys.push_back(k);
            }
        }
        return;
    }
    const Value& v = value ? *value : *fetched;

    if (g_json) {
        Json k = Json::object();
        k["name"] = key_name;
        k["type"] = type_name(type);
        k["value"] = json_value(v);
        if (json_event)
            (*json_event)["key"] = k;
        else
            g_keys.push_back(k);
        return;
    }

    if (!quiet)
        std::printf("%s (", key_name.c_str());
    const auto b = v.bytes();
    auto scalar = [&](auto zero) {
        decltype(zero) x = zero;
        std::memcpy(&x, b.data(), std::min(sizeof(x), b.size()));
        return x;
    };
    switch (type) {
        case ValueType::int8:
            if (!quiet)
                std::printf("%s) = %" PRId8, "i8", scalar(std::int8_t{}));
            else
                std::printf("%" PRId8, scalar(std::int8_t{}));
            break;
        case ValueType::uint8:
            if (!quiet)
                std::printf("%s) = %" PRIu8, "u8", scalar(std::uint8_t{}));
            else
                std::printf("%" PRIu8, scalar(std::uint8_t{}));
            break;
        case ValueType::int16:
            if (!quiet)
                std::printf("%s) = %" PRId16, "i16", scalar(std::int16_t{}));
            else
                std::printf("%" PRId16, scalar(std::int16_t{}));
            break;
        case ValueType::uint16:
            if (!quiet)
                std::printf("%s) = %" PRIu16, "u16", scalar(std::uint16_t{}));
            else
                std::printf("%" PRIu16, scalar(std::uint16_t{}));
            break;
        case ValueType::int32:
            if (!quiet)
                std::printf("%s) = %" PRId32, "i32", scalar(std::int32_t{}));
            else
                std::printf("%" PRId32, scalar(std::int32_t{}));
            break;
        case ValueType::uint32:
            if (!quiet)
                std::printf("%s) = %" PRIu32, "u32", scalar(std::uint32_t{}));
            else
                std::printf("%" PRIu32, scalar(std::uint32_t{}));
            break;
        case ValueType::int64:
            if (!quiet)
                std::printf("%s) = %" PRId64, "i64", scalar(std::int64_t{}));
            else
                std::printf("%" PRId64, scalar(std::int64_t{}));
            break;
        case ValueType::uint64:
            if (!quiet)
                std::printf("%s) = %" PRIu64, "u64", scalar(std::uint64_t{}));
            else
                std::printf("%" PRIu64, scalar(std::uint64_t{}));
            break;
        case ValueType::float_:
            if (!quiet)
                std::printf("%s) = %f", "flt", static_cast<double>(scalar(float{})));
            else
                std::printf("%f", static_cast<double>(scalar(float{})));
            break;
        case ValueType::double_:
            if (!quiet)
                std::printf("%s) = %lf", "dbl", scalar(double{}));
            else
                std::printf("%lf", scalar(double{}));
            break;
        case ValueType::string: {
            // printf("%s"): the text up to its NUL.
            const std::string text = v.as_string().value_or(std::string(b.begin(), b.end()));
            const std::string shown(text.c_str());
            if (!quiet)
                std::printf("%s) = %s", "str", shown.c_str());
            else
                std::printf("%s", shown.c_str());
            break;
        }
        case ValueType::binary:
            std::printf("%s)", "bin");
            if (show_binary) {
                std::printf(" = ");
                if (value != nullptr || fetched)
                    print_binary_key(b.data(), std::min<std::size_t>(b.size(), value_len));
                else
                    std::printf("*empty*");
            }
            break;
    }
    std::printf("\n");
}

int print_iter(Cmap& handle, const char* prefix) {
    auto iter = handle.iter_init(prefix ? prefix : "");
    if (!iter) {
        std::fprintf(stderr, "Failed to initialize iteration. Error %s\n",
                     cs_strerror(cs(iter.error())));
        if (g_json) {
            json_failure(prefix ? prefix : "", iter.error());
            Json d = totem::tools::json_doc("totem-cmapctl");
            d["action"] = g_action;
            d["map"] = g_map_name;
            d["ok"] = false;
            d["keys"] = g_keys;
            d["errors"] = g_errors;
            totem::tools::print_json(d);
        }
        std::exit(EXIT_FAILURE);
    }
    int no_result = 1;
    for (;;) {
        auto k = handle.iter_next(*iter);
        if (!k || !k->has_value())
            break;
        no_result = 0;
        print_key(handle, (*k)->name, (*k)->value_len, nullptr, (*k)->type);
    }
    (void)handle.iter_finalize(*iter);
    return no_result;
}

void delete_with_prefix(Cmap& handle, const char* prefix) {
    auto iter = handle.iter_init(prefix);
    if (!iter) {
        std::fprintf(stderr, "Failed to initialize iteration. Error %s\n",
                     cs_strerror(cs(iter.error())));
        std::exit(EXIT_FAILURE);
    }
    for (;;) {
        auto k = handle.iter_next(*iter);
        if (!k || !k->has_value())
            break;
        Status err2 = handle.erase((*k)->name);
        if (!err2) {
            std::fprintf(stderr, "Can't delete key %s. Error %s\n", (*k)->name.c_str(),
                         cs_strerror(cs(err2.error())));
            json_failure((*k)->name, err2.error());
        }
    }
    (void)handle.iter_finalize(*iter);
}

void notify(Cmap& handle, const Cmap::Notification& n) {
    Json ev = Json::object();
    const char* what = nullptr;
    const Value* v = nullptr;
    switch (n.event) {
        case Cmap::track_added:
            what = "create";
            v = n.new_value ? &*n.new_value : nullptr;
            break;
        case Cmap::track_deleted:
            what = "delete";
            v = n.old_value ? &*n.old_value : nullptr;
            break;
        case Cmap::track_modified:
            what = "modify";
            v = n.new_value ? &*n.new_value : nullptr;
            break;
        default:
            break;
    }
    if (g_json) {
        ev = totem::tools::json_doc("totem-cmapctl");
        ev["event"] = what ? what : "unknown";
    } else {
        std::printf("%s> ", what ? what : "unknown change");
    }
    if (what) {
        const Value empty;
        const Value& val = v ? *v : empty;
        print_key(handle, n.key, val.bytes().size(), &val, val.type(), g_json ? &ev : nullptr);
    }
    if (g_json)
        totem::tools::print_json(ev);
}

void add_track(Cmap& handle, const char* key_name, bool prefix) {
    std::int32_t track_type = Cmap::track_added | Cmap::track_deleted | Cmap::track_modified;
    if (prefix)
        track_type |= Cmap::track_prefix;
    auto r = handle.track_add(key_name, track_type,
                              [&handle](const Cmap::Notification& n) { notify(handle, n); });
    if (!r) {
        std::fprintf(stderr, "Failed to add tracking function. Error %s\n",
                     cs_strerror(cs(r.error())));
        std::exit(EXIT_FAILURE);
    }
}

void on_signal(int) {
    g_stop = 1;
}

void watch_changes(Cmap& handle) {
    // totemd's addition: SIGINT and SIGTERM end the loop (poll returns EINTR) as "q" does.
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    const int cmap_fd = handle.fd();
    pollfd pfd[2];
    pfd[0].fd = cmap_fd;
    pfd[1].fd = STDIN_FILENO;
    pfd[0].events = pfd[1].events = POLLIN;
    if (!g_json)
        std::printf("Type \"q\" to finish\n");
    bool quit = false;
    int poll_res = 0;
    do {
        pfd[0].revents = pfd[1].revents = 0;
        poll_res = poll(pfd, 2, -1);
        if (poll_res == -1 && !(errno == EINTR && g_stop))
            std::perror("poll");
        if (pfd[1].revents & POLLIN) {
            char inbuf[3];
            if (std::fgets(inbuf, sizeof(inbuf), stdin) == nullptr)
                quit = true;
            else if (std::strncmp(inbuf, "q", 1) == 0)
                quit = true;
        }
        if (pfd[0].revents & POLLIN) {
            auto err = handle.dispatch(Dispatch::all);
            if (!err) {
                std::fprintf(stderr, "Dispatch error %s\n", cs_strerror(cs(err.error())));
                quit = true;
            }
        }
        std::fflush(stdout);
    } while (poll_res > 0 && !quit && !g_stop);
}

Status set_key_bin(Cmap& handle, const char* key_name, const char* fname) {
    FILE* f = nullptr;
    if (std::strcmp(fname, "-") == 0) {
        f = stdin;
    } else {
        f = std::fopen(fname, "rb");
        if (f == nullptr) {
            std::perror("Can't open input file");
            std::exit(EXIT_FAILURE);
        }
    }
    std::vector<std::uint8_t> val;
    char buf[4096];
    std::size_t readed;
    while ((readed = std::fread(buf, 1, sizeof(buf), f)) != 0)
        val.insert(val.end(), buf, buf + readed);
    if (f != stdin)
        std::fclose(f);
    return handle.set(key_name, Value::bin(val));
}

void set_key(Cmap& handle, const char* key_name, const char* key_type_s, const char* key_value_s) {
    std::int64_t i64 = 0;
    std::uint64_t u64 = 0;
    double dbl = 0;
    float flt = 0;
    int scanf_res = 0;
    if (convert_name_to_type(key_type_s) == -1) {
        std::fprintf(stderr, "Unknown type %s\n", key_type_s);
        std::exit(EXIT_FAILURE);
    }
    const auto type = static_cast<ValueType>(convert_name_to_type(key_type_s));
    switch (type) {
        case ValueType::int8:
        case ValueType::int16:
        case ValueType::int32:
        case ValueType::int64:
            scanf_res = std::sscanf(key_value_s, "%" SCNd64, &i64);
            break;
        case ValueType::uint8:
        case ValueType::uint16:
        case ValueType::uint32:
        case ValueType::uint64:
            scanf_res = std::sscanf(key_value_s, "%" SCNu64, &u64);
            break;
        case ValueType::float_:
            scanf_res = std::sscanf(key_value_s, "%f", &flt);
            break;
        case ValueType::double_:
            scanf_res = std::sscanf(key_value_s, "%lf", &dbl);
            break;
        case ValueType::string:
        case ValueType::binary:
            scanf_res = 1;
            break;
    }
    if (scanf_res != 1) {
        std::fprintf(stderr, "%s is not valid %s type value\n", key_value_s, key_type_s);
        std::exit(EXIT_FAILURE);
    }
    Status err;
    auto range = [&](bool bad, const char* what) {
        if (bad) {
            std::fprintf(stderr, "%s is not valid %s integer\n", key_value_s, what);
            std::exit(EXIT_FAILURE);
        }
    };
    switch (type) {
        case ValueType::int8:
            range(i64 > INT8_MAX || i64 < INT8_MIN, "i8");
            err = handle.set(key_name, Value::i8(static_cast<std::int8_t>(i64)));
            break;
        case ValueType::int16:
            range(i64 > INT16_MAX || i64 < INT16_MIN, "i16");
            err = handle.set(key_name, Value::i16(static_cast<std::int16_t>(i64)));
            break;
        case ValueType::int32:
            range(i64 > INT32_MAX || i64 < INT32_MIN, "i32");
            err = handle.set(key_name, Value::i32(static_cast<std::int32_t>(i64)));
            break;
        case ValueType::int64:
            err = handle.set(key_name, Value::i64(i64));
            break;
        case ValueType::uint8:
            range(u64 > UINT8_MAX, "u8");
            err = handle.set(key_name, Value::u8(static_cast<std::uint8_t>(u64)));
            break;
        case ValueType::uint16:
            range(u64 > UINT16_MAX, "u16");
            err = handle.set(key_name, Value::u16(static_cast<std::uint16_t>(u64)));
            break;
        case ValueType::uint32:
            range(u64 > UINT32_MAX, "u32");
            err = handle.set(key_name, Value::u32(static_cast<std::uint32_t>(u64)));
            break;
        case ValueType::uint64:
            err = handle.set(key_name, Value::u64(u64));
            break;
        case ValueType::float_:
            err = handle.set(key_name, Value::flt(flt));
            break;
        case ValueType::double_:
            err = handle.set(key_name, Value::dbl(dbl));
            break;
        case ValueType::string:
            err = handle.set(key_name, Value::str(key_value_s));
            break;
        case ValueType::binary:
            err = set_key_bin(handle, key_name, key_value_s);
            break;
    }
    if (!err) {
        std::fprintf(stderr, "Failed to set key %s. Error %s\n", key_name,
                     cs_strerror(cs(err.error())));
        if (g_json) {
            json_failure(key_name, err.error());
            Json d = totem::tools::json_doc("totem-cmapctl");
            d["action"] = g_action;
            d["map"] = g_map_name;
            d["ok"] = false;
            d["errors"] = g_errors;
            totem::tools::print_json(d);
        }
        std::exit(EXIT_FAILURE);
    }
}

void read_in_config_file(Cmap& handle, const char* filename) {
    FILE* fh = std::fopen(filename, "r");
    if (fh == nullptr) {
        std::perror("Couldn't open file.");
        return;
    }
    char buf[1024];
    while (std::fgets(buf, 1024, fh) != nullptr) {
        // The first non-blank character: '#' or the end of the line: ignored.
        bool ignore = true;
        char* line = nullptr;
        for (int c = 0; c < 1024; c++) {
            if (std::isblank(static_cast<unsigned char>(buf[c])))
                continue;
            if (buf[c] == '#' || buf[c] == '\n') {
                ignore = true;
                break;
            }
            ignore = false;
            line = &buf[c];
            break;
        }
        if (ignore)
            continue;
        // [^[^]]<key>[ <type> <value>]
        char* key_name = std::strtok(line, " \n");
        if (key_name && *key_name == '^') {
            key_name++;
            if (*key_name == '^') {
                key_name++;
                delete_with_prefix(handle, key_name);
            } else {
                Status err = handle.erase(key_name);
                if (!err) {
                    std::fprintf(stderr, "Can't delete key %s. Error %s\n", key_name,
                                 cs_strerror(cs(err.error())));
                    json_failure(key_name, err.error());
                }
            }
        } else {
            char* key_type_s = std::strtok(nullptr, " \n");
            char* key_value_s = std::strtok(nullptr, " \n");
            if (key_type_s == nullptr || key_value_s == nullptr) {
                std::fprintf(stderr, "Both type and value for key %s are required\n", key_name);
                std::exit(EXIT_FAILURE);
            }
            set_key(handle, key_name, key_type_s, key_value_s);
        }
    }
    std::fclose(fh);
}

void clear_stats(Cmap& handle, const char* clear_opt) {
    char key_name[256 + 1];
    std::snprintf(key_name, sizeof(key_name), "stats.clear.%s", clear_opt);
    (void)handle.set(key_name, Value::u32(1));
}

const char* action_name(Action a) {
    switch (a) {
        case Action::get:
            return "get";
        case Action::set:
            return "set";
        case Action::delete_:
            return "delete";
        case Action::delete_prefix:
            return "delete_prefix";
        case Action::print_prefix:
            return "list";
        case Action::track:
            return "track";
        case Action::load:
            return "load";
        case Action::clearstats:
            return "clear_stats";
    }
    return "?";
}

}  // namespace

int main(int argc, char* argv[]) {
    std::vector<char*> args;
    g_json = totem::tools::take_flag(argc, argv, args, "--json");
    std::vector<char*> args2;
    if (totem::tools::take_flag(argc, argv, args2, "--help"))
        return print_help();

    Action action = Action::print_prefix;
    bool track_prefix = true;
    bool map_set = false;
    Cmap::Map map = Cmap::Map::icmap;
    const char* clear_opt = nullptr;
    const char* settings_file = nullptr;
    int count_of_no_result = 0;
    int c;
    while ((c = getopt(argc, argv, "m:hqgsdDtTbp:C:")) != -1) {
        switch (c) {
            case 'h':
                return print_help();
            case 'b':
                show_binary++;
                break;
            case 'q':
                quiet = 1;
                break;
            case 'g':
                action = Action::get;
                break;
            case 's':
                action = Action::set;
                break;
            case 'd':
                action = Action::delete_;
                break;
            case 'D':
                action = Action::delete_prefix;
                break;
            case 'p':
                settings_file = optarg;
                action = Action::load;
                break;
            case 'C':
                if (std::strcmp(optarg, "knet") == 0 || std::strcmp(optarg, "totem") == 0 ||
                    std::strcmp(optarg, "ipc") == 0 || std::strcmp(optarg, "schedmiss") == 0 ||
                    std::strcmp(optarg, "all") == 0) {
                    action = Action::clearstats;
                    clear_opt = optarg;
                    map = Cmap::Map::stats;  // the stats map is implied
                } else {
                    std::fprintf(stderr,
                                 "argument to -C should be 'knet', 'totem', 'ipc', 'schedmiss' or "
                                 "'all'\n");
                    return EXIT_FAILURE;
                }
                break;
            case 't':
                action = Action::track;
                track_prefix = false;
                break;
            case 'T':
                action = Action::track;
                break;
            case 'm':
                if (std::strcmp(optarg, "icmap") == 0 || std::strcmp(optarg, "default") == 0) {
                    map = Cmap::Map::icmap;
                    map_set = true;
                }
                if (std::strcmp(optarg, "stats") == 0) {
                    map = Cmap::Map::stats;
                    map_set = true;
                }
                if (!map_set) {
                    std::fprintf(stderr,
                                 "invalid map name, must be 'default', 'icmap' or 'stats'\n");
                    return EXIT_FAILURE;
                }
                break;
            case '?':
                return EXIT_FAILURE;
            default:
                action = Action::print_prefix;
                break;
        }
    }
    argc -= optind;
    argv += optind;
    g_map_name = map == Cmap::Map::stats ? "stats" : "icmap";
    g_action = action_name(action);

    if (argc == 0 && action != Action::load && action != Action::clearstats &&
        action != Action::print_prefix) {
        std::fprintf(stderr, "Expected key after options\n");
        return EXIT_FAILURE;
    }

    // cmap_initialize_map() (connect with Options: SET_CURRENT_MAP is always sent), retried on
    // CS_ERR_TRY_AGAIN 10 times a second apart.
    Cmap::Options options;
    options.map = map;
    options.nonblocking = true;
    Result<Cmap> handle = Errc::try_again;
    for (int no_retries = 0;;) {
        handle = Cmap::connect(options);
        if (handle || handle.error() != Errc::try_again || no_retries++ >= kMaxTryAgain)
            break;
        sleep(1);
    }
    if (!handle) {
        std::fprintf(stderr, "Failed to initialize the cmap API. Error %s\n",
                     cs_strerror(cs(handle.error())));
        if (g_json) {
            Json d = totem::tools::json_doc("totem-cmapctl");
            d["action"] = action_name(action);
            d["map"] = g_map_name;
            d["ok"] = false;
            d["error"] = totem::tools::json_error(handle.error());
            totem::tools::print_json(d);
        }
        std::exit(EXIT_FAILURE);
    }

    int rc = 0;
    switch (action) {
        case Action::print_prefix:
            if (argc == 0) {
                count_of_no_result = print_iter(*handle, nullptr);
            } else {
                for (int i = 0; i < argc; i++)
                    count_of_no_result += print_iter(*handle, argv[i]);
            }
            if (count_of_no_result > 0 && count_of_no_result >= argc)
                rc = EXIT_FAILURE;
            break;
        case Action::get:
            for (int i = 0; i < argc; i++) {
                auto info = handle->stat(argv[i]);
                if (info) {
                    print_key(*handle, argv[i], info->value_len, nullptr, info->type);
                } else {
                    std::fprintf(stderr, "Can't get key %s. Error %s\n", argv[i],
                                 cs_strerror(cs(info.error())));
                    json_failure(argv[i], info.error());
                    rc = EXIT_FAILURE;
                    break;
                }
            }
            break;
        case Action::delete_:
            for (int i = 0; i < argc; i++) {
                Status err = handle->erase(argv[i]);
                if (!err) {
                    std::fprintf(stderr, "Can't delete key %s. Error %s\n", argv[i],
                                 cs_strerror(cs(err.error())));
                    json_failure(argv[i], err.error());
                    rc = EXIT_FAILURE;
                    break;
                }
            }
            break;
        case Action::delete_prefix:
            for (int i = 0; i < argc; i++)
                delete_with_prefix(*handle, argv[i]);
            break;
        case Action::load:
            read_in_config_file(*handle, settings_file);
            break;
        case Action::track:
            for (int i = 0; i < argc; i++)
                add_track(*handle, argv[i], track_prefix);
            watch_changes(*handle);
            break;
        case Action::set:
            if (argc < 3) {
                std::fprintf(stderr, "At least 3 parameters are expected for set\n");
                rc = EXIT_FAILURE;
                break;
            }
            set_key(*handle, argv[0], argv[1], argv[2]);
            break;
        case Action::clearstats:
            clear_stats(*handle, clear_opt);
            break;
    }
    if (g_json && action != Action::track) {
        Json d = totem::tools::json_doc("totem-cmapctl");
        d["action"] = action_name(action);
        d["map"] = g_map_name;
        d["ok"] = rc == 0 && g_errors.dump() == "[]";
        if (action == Action::print_prefix || action == Action::get)
            d["keys"] = g_keys;
        d["errors"] = g_errors;
        totem::tools::print_json(d);
    }
    return rc;
}

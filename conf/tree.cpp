#include "conf/tree.hpp"

#include <algorithm>

namespace totem::conf {

void Section::add_value(std::string key, std::string value, int line_no) {
    items.push_back(Item{std::move(key), std::move(value), line_no, -1});
}

Section& Section::add_section(std::string section_name, int line_no) {
    Section s;
    s.name = section_name;
    s.line = line_no;
    children.push_back(std::move(s));
    items.push_back(
        Item{std::move(section_name), {}, line_no, static_cast<int>(children.size() - 1)});
    return children.back();
}

namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

// coroparse.c remove_whitespace(): strip leading blanks; strip trailing blanks (and ':' / '{'
// when asked), never removing the first remaining character.
std::string trim_like_corosync(std::string_view s, bool colon_and_brace) {
    std::size_t start = 0;
    while (start < s.size() && is_blank(s[start]))
        ++start;
    if (start == s.size())
        return {};
    std::size_t end = s.size() - 1;
    while (end > start &&
           (is_blank(s[end]) || (colon_and_brace && (s[end] == ':' || s[end] == '{'))))
        --end;
    // corosync's loop stops at `end > start`, so a lone blank survives only if it is start,
    // which the leading strip already excluded.
    return std::string(s.substr(start, end - start + 1));
}

// What follows the first `c`, with leading blanks skipped (coroparse.c strchr_rs).
std::string_view after_char(std::string_view line, std::size_t pos) {
    std::size_t p = pos + 1;
    while (p < line.size() && is_blank(line[p]))
        ++p;
    return line.substr(p);
}

struct Frame {
    Section* section;
    std::string path;
};

}  // namespace

Result<Section, Diag> parse_conf(std::string_view text, const std::string& file) {
    Section root;
    std::vector<Frame> stack;
    stack.push_back(Frame{&root, ""});
    int line_no = 0;
    std::size_t pos = 0;
    auto fail = [&](std::string msg) { return Err{Diag{file, line_no, std::move(msg)}}; };

    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        bool has_nl = nl != std::string_view::npos;
        std::string_view raw = text.substr(pos, has_nl ? nl - pos : std::string_view::npos);
        pos = has_nl ? nl + 1 : text.size();
        ++line_no;

        // fgets() stops at a NUL as if the line ended there without its newline.
        std::size_t nul = raw.find('\0');
        if (nul != std::string_view::npos) {
            if (nul != 0)
                return fail("Line too long");
            continue;
        }
        if (raw.size() > kConfLineMax)
            return fail("Line too long");

        std::string_view line = raw;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        while (!line.empty() && is_blank(line.back()))
            line.remove_suffix(1);

        std::size_t first = 0;
        while (first < line.size() && is_blank(line[first]))
            ++first;
        if (first == line.size() || line[first] == '#')
            continue;

        Frame& top = stack.back();
        if (std::size_t brace = line.find('{'); brace != std::string_view::npos) {
            std::string name = trim_like_corosync(line.substr(0, brace), true);
            std::string after = trim_like_corosync(after_char(line, brace), false);
            if (name.empty())
                return fail("Missing section name before opening bracket '{'");
            if (!after.empty())
                return fail("Extra characters after opening bracket '{'");
            if (top.path.size() + name.size() + 1 >= kKeyNameMax)
                return fail("Start of section makes total cmap path too long");
            if (static_cast<int>(stack.size()) > kDepthMax)
                return fail("Sections nested too deeply");
            std::string path = top.path.empty() ? name : top.path + "." + name;
            Section& s = top.section->add_section(std::move(name), line_no);
            stack.push_back(Frame{&s, std::move(path)});
            continue;
        }
        if (std::size_t colon = line.find(':'); colon != std::string_view::npos) {
            std::string key = trim_like_corosync(line.substr(0, colon), true);
            std::string value = trim_like_corosync(after_char(line, colon), false);
            if (top.path.size() + key.size() + 1 >= kKeyNameMax)
                return fail("New key makes total cmap path too long");
            top.section->add_value(std::move(key), std::move(value), line_no);
            continue;
        }
        if (line.find('}') != std::string_view::npos) {
            if (trim_like_corosync(line, false) != "}")
                return fail("Extra characters before or after closing bracket '}'");
            if (stack.size() == 1)
                return fail("Unexpected closing brace");
            stack.back().section->end_line = line_no;
            stack.pop_back();
            continue;
        }
        return fail("Line is not opening or closing section or key value");
    }
    if (stack.size() > 1)
        return fail("Missing closing brace");
    return root;
}

namespace {

bool key_writable(const std::string& k) {
    if (k.empty())
        return false;
    if (k.find_first_of(":{}#\n\r\t") != std::string::npos)
        return false;
    return !is_blank(k.front()) && !is_blank(k.back());
}

bool value_writable(const std::string& v) {
    if (v.find_first_of("{\n\r") != std::string::npos)
        return false;
    if (v.find('\0') != std::string::npos)
        return false;
    return v.empty() || (!is_blank(v.front()) && !is_blank(v.back()));
}

Result<bool, Diag> write_section(const Section& s, int depth, std::string& out,
                                 const std::string& file) {
    std::string indent(static_cast<std::size_t>(depth) * 4, ' ');
    for (const auto& it : s.items) {
        if (!key_writable(it.key))
            return Err{
                Diag{file, it.line, "key \"" + it.key + "\" cannot be written as corosync.conf"}};
        if (s.is_section(it)) {
            out += indent + it.key + " {\n";
            auto r = write_section(s.child(it), depth + 1, out, file);
            if (!r)
                return r;
            out += indent + "}\n";
            if (depth == 0)
                out += "\n";
        } else {
            if (!value_writable(it.value))
                return Err{Diag{file, it.line,
                                "value of \"" + it.key + "\" cannot be written as corosync.conf"}};
            out += indent + it.key + ": " + it.value + "\n";
        }
    }
    return true;
}

}  // namespace

Result<std::string, Diag> write_conf(const Section& root, const std::string& file) {
    std::string out;
    auto r = write_section(root, 0, out, file);
    if (!r)
        return Err{r.error()};
    while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n')
        out.pop_back();
    return out;
}

}  // namespace totem::conf

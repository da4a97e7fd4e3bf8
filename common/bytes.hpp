// Explicit little functions for bytes on the wire: a Writer that appends fixed-width integers
// in a chosen byte order, and a Reader that can never read past the end of its span.
//
// No struct is ever cast over received bytes; every field is read one by one.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace totem {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

class Writer {
  public:
    explicit Writer(Bytes& out) : out_(out) {}

    void u8(std::uint8_t v) { out_.push_back(v); }
    void u16(std::uint16_t v) { put(v, 2); }
    void u32(std::uint32_t v) { put(v, 4); }
    void u64(std::uint64_t v) { put(v, 8); }
    void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
    void bytes(ByteView b) { out_.insert(out_.end(), b.begin(), b.end()); }
    void bytes(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
    // `n` copies of `v` (padding).
    void fill(std::size_t n, std::uint8_t v) { out_.insert(out_.end(), n, v); }
    std::size_t size() const { return out_.size(); }
    // Overwrites a u32 already written at `offset` (little-endian).
    void patch_u32(std::size_t offset, std::uint32_t v) {
        for (int i = 0; i < 4; ++i)
            out_[offset + i] = static_cast<std::uint8_t>(v >> (8 * i));
    }

  private:
    // Always little-endian: totemd sends the byte order every Debian platform but s390x uses.
    void put(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i)
            out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    Bytes& out_;
};

// Reads fixed-width integers in little-endian order, or big-endian when `swapped` is set
// (a sender of the other byte order). Every read checks the remaining length; after a failed
// read `ok()` is false and every later read returns 0.
class Reader {
  public:
    explicit Reader(ByteView data, bool swapped = false) : data_(data), swapped_(swapped) {}

    bool ok() const { return ok_; }
    std::size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
    std::size_t position() const { return pos_; }
    bool swapped() const { return swapped_; }

    std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(get(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
    std::uint64_t u64() { return get(8); }
    std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
    std::int16_t i16() { return static_cast<std::int16_t>(u16()); }

    // A view of the next n bytes (empty and !ok() when fewer remain).
    ByteView take(std::size_t n) {
        if (!ok_ || data_.size() - pos_ < n) {
            ok_ = false;
            return {};
        }
        ByteView v = data_.subspan(pos_, n);
        pos_ += n;
        return v;
    }
    ByteView rest() { return take(remaining()); }

  private:
    std::uint64_t get(int n) {
        if (!ok_ || data_.size() - pos_ < static_cast<std::size_t>(n)) {
            ok_ = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (int i = 0; i < n; ++i) {
            std::uint64_t b = data_[pos_ + i];
            v |= swapped_ ? b << (8 * (n - 1 - i)) : b << (8 * i);
        }
        pos_ += n;
        return v;
    }
    ByteView data_;
    std::size_t pos_ = 0;
    bool swapped_;
    bool ok_ = true;
};

}  // namespace totem

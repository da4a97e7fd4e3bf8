// SharedBytes: a read-only view of bytes together with the owner that keeps them alive.
//
// The small-message path hands one message through several layers (Srp's stored datagram ->
// totempg's reassembly -> the service -> one IPC event for every local client); copying the
// bytes at each hand-over was most of the daemon's heap traffic (issue 20). A SharedBytes is
// copied instead: a reference count and a span, no allocation.
//
// The lifetime rule: the bytes a SharedBytes views belong to `owner` and must never change
// while any copy lives. Every constructor below states how it keeps that rule; there is no way
// to make one from a bare span. Single-threaded like everything that carries it (the reference
// count is atomic anyway, as std::shared_ptr's is).
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <utility>

#include "common/assert.hpp"
#include "common/bytes.hpp"

namespace totem {

class SharedBytes {
  public:
    SharedBytes() = default;
    // Takes `b` over (one allocation: the control block with the vector in it). Nothing else
    // can reach the vector afterwards, so its bytes never change.
    explicit SharedBytes(Bytes b) {
        auto owned = std::make_shared<const Bytes>(std::move(b));
        view_ = ByteView(*owned);
        owner_ = std::move(owned);
    }
    // A view into an immutable object `owner` points to (e.g. a `shared_ptr<const T>` whose T
    // holds the bytes): `view` must lie inside memory that object owns and never rewrites.
    SharedBytes(std::shared_ptr<const void> owner, ByteView view)
        : owner_(std::move(owner)), view_(view) {
        TOTEM_ASSERT(owner_ != nullptr || view_.empty());
    }

    ByteView view() const { return view_; }
    operator ByteView() const { return view_; }  // NOLINT: a view of a view, never a copy
    const std::uint8_t* data() const { return view_.data(); }
    std::size_t size() const { return view_.size(); }
    bool empty() const { return view_.empty(); }
    ByteView::iterator begin() const { return view_.begin(); }
    ByteView::iterator end() const { return view_.end(); }
    std::uint8_t operator[](std::size_t i) const { return view_[i]; }

    // `n` bytes from `offset` (to the end when n is npos), sharing the owner.
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    SharedBytes sub(std::size_t offset, std::size_t n = npos) const {
        TOTEM_ASSERT(offset <= view_.size());
        const std::size_t len = n == npos ? view_.size() - offset : n;
        TOTEM_ASSERT(len <= view_.size() - offset);
        return SharedBytes(owner_, view_.subspan(offset, len));
    }
    // A copy of the bytes that the caller owns.
    Bytes to_bytes() const { return Bytes(view_.begin(), view_.end()); }

    friend bool operator==(const SharedBytes& a, const SharedBytes& b) {
        return std::ranges::equal(a.view_, b.view_);
    }
    friend bool operator==(const SharedBytes& a, const Bytes& b) {
        return std::ranges::equal(a.view_, b);
    }

  private:
    std::shared_ptr<const void> owner_;
    ByteView view_;
};

}  // namespace totem

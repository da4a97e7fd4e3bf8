// EventQueue: the simulator's agenda. Events come out ordered by (virtual time, sequence
// number), the sequence number being the order of push(): two events at the same instant run in
// the order they were scheduled, never in an order that depends on addresses or hashing.
//
// Bounded: push() refuses (returns false) once `capacity` events are pending; the simulator
// treats that as a run failure (a packet storm), not as something to wait out.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace totem::sim {

template <typename T>
class EventQueue {
  public:
    struct Entry {
        std::int64_t time_us = 0;
        std::uint64_t seq = 0;
        T value;
    };

    explicit EventQueue(std::size_t capacity) : capacity_(capacity) {}

    bool push(std::int64_t time_us, T value) {
        if (heap_.size() >= capacity_)
            return false;
        std::uint32_t slot;
        if (!free_.empty()) {
            slot = free_.back();
            free_.pop_back();
            slots_[slot] = std::move(value);
        } else {
            slot = static_cast<std::uint32_t>(slots_.size());
            slots_.push_back(std::move(value));
        }
        heap_.push_back(Key{time_us, next_seq_++, slot});
        sift_up(heap_.size() - 1);
        return true;
    }
    bool empty() const { return heap_.empty(); }
    std::size_t size() const { return heap_.size(); }
    std::int64_t next_time() const { return heap_.front().time_us; }
    Entry pop() {
        const Key top = heap_.front();
        heap_.front() = heap_.back();
        heap_.pop_back();
        if (!heap_.empty())
            sift_down(0);
        free_.push_back(top.slot);
        return Entry{top.time_us, top.seq, std::move(slots_[top.slot])};
    }
    void clear() {
        heap_.clear();
        slots_.clear();
        free_.clear();
    }
    std::uint64_t pushed() const { return next_seq_; }

  private:
    // The heap holds small keys; the events stay put in their slots (moving a key is cheap,
    // moving an event is not).
    struct Key {
        std::int64_t time_us;
        std::uint64_t seq;
        std::uint32_t slot;
    };
    static bool before(const Key& a, const Key& b) {
        if (a.time_us != b.time_us)
            return a.time_us < b.time_us;
        return a.seq < b.seq;
    }
    void sift_up(std::size_t i) {
        const Key k = heap_[i];
        while (i > 0) {
            const std::size_t parent = (i - 1) / 2;
            if (!before(k, heap_[parent]))
                break;
            heap_[i] = heap_[parent];
            i = parent;
        }
        heap_[i] = k;
    }
    void sift_down(std::size_t i) {
        const std::size_t n = heap_.size();
        const Key k = heap_[i];
        for (;;) {
            std::size_t child = 2 * i + 1;
            if (child >= n)
                break;
            if (child + 1 < n && before(heap_[child + 1], heap_[child]))
                ++child;
            if (!before(heap_[child], k))
                break;
            heap_[i] = heap_[child];
            i = child;
        }
        heap_[i] = k;
    }

    std::size_t capacity_;
    std::uint64_t next_seq_ = 0;
    std::vector<Key> heap_;
    std::vector<T> slots_;
    std::vector<std::uint32_t> free_;
};

}  // namespace totem::sim

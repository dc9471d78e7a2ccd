//! A priority queue of future events ordered by `(time, sequence)`.
//!
//! Events due at the same millisecond come out in the order they were scheduled, so the
//! simulation never depends on how the heap breaks ties.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::SimTime;

/// An event taken from the queue: when it is due, its sequence number and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled<E> {
    pub at: SimTime,
    pub seq: u64,
    pub event: E,
}

struct Entry<E> {
    at: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed so that `BinaryHeap` (a max-heap) pops the earliest `(at, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// The event queue and the virtual clock it drives.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
    now: SimTime,
    popped: u64,
}

impl<E> std::fmt::Debug for EventQueue<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventQueue")
            .field("now", &self.now)
            .field("pending", &self.heap.len())
            .field("next_seq", &self.next_seq)
            .finish()
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue whose clock reads zero.
    pub fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            next_seq: 0,
            now: 0,
            popped: 0,
        }
    }

    /// The current virtual time: the due time of the last event taken.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at `at`; a time in the past is moved to now (the clock never runs
    /// backwards). Returns the event's sequence number.
    pub fn schedule(&mut self, at: SimTime, event: E) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry {
            at: at.max(self.now),
            seq,
            event,
        });
        seq
    }

    /// Schedules `event` `delay` milliseconds from now.
    pub fn schedule_in(&mut self, delay: SimTime, event: E) -> u64 {
        self.schedule(self.now.saturating_add(delay.max(0)), event)
    }

    /// Due time of the next event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| e.at)
    }

    /// Takes the next event and advances the clock to its due time.
    pub fn pop(&mut self) -> Option<Scheduled<E>> {
        let e = self.heap.pop()?;
        self.now = e.at;
        self.popped += 1;
        Some(Scheduled {
            at: e.at,
            seq: e.seq,
            event: e.event,
        })
    }

    /// Takes the next event only if it is due at or before `until`.
    pub fn pop_until(&mut self, until: SimTime) -> Option<Scheduled<E>> {
        if self.peek_time()? > until {
            return None;
        }
        self.pop()
    }

    /// Moves the clock forward to `t` without taking an event (never backwards).
    pub fn advance_to(&mut self, t: SimTime) {
        self.now = self.now.max(t);
    }

    /// Events still waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Events taken so far.
    pub fn processed(&self) -> u64 {
        self.popped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_by_time_then_by_scheduling_order() {
        let mut q = EventQueue::new();
        q.schedule(20, "c");
        q.schedule(10, "a");
        q.schedule(20, "d");
        q.schedule(10, "b");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|s| s.event).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
        assert_eq!(q.now(), 20);
    }

    #[test]
    fn the_clock_never_runs_backwards() {
        let mut q = EventQueue::new();
        q.schedule(50, 1);
        q.pop();
        q.schedule(10, 2);
        let e = q.pop().unwrap();
        assert_eq!((e.at, q.now()), (50, 50));
        assert_eq!(q.pop_until(100), None);
    }
}

//! Two threads working one task in lock step, meeting at a spinning barrier: the boosting's two
//! workers grow each tree together, each over its own share of the features, and pool their best
//! splits once per split (LightGBM's feature-parallel histograms, within one machine).
//!
//! Why not `rayon::join` per split: a split's work is tens of microseconds, and a join that wakes
//! a sleeping rayon worker costs about as much. Here the partner spins between meetings (falling
//! back to yielding its core), so a meeting costs well under a microsecond while both threads run.
//! The partner is recruited once per fit, and only if a thread is free to join within a short
//! wait; otherwise the fit runs alone, with the same result.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The partner left (it finished or unwound) while the other still expected it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Abandoned;

const PENDING: u8 = 0;
const JOINED: u8 = 1;
const ALONE: u8 = 2;
/// Busy-wait rounds before a waiting thread starts yielding its core.
const SPINS: u32 = 2_000;

/// Two workers, 0 (the lead) and 1 (the partner), exchanging values of type `T`.
pub(crate) struct Pair<T> {
    state: AtomicU8,
    arrived: AtomicUsize,
    generation: AtomicUsize,
    left: AtomicBool,
    /// `slots[round % 2][worker]`: a worker can be at most one round ahead of the other, so two
    /// rounds of slots never overlap.
    slots: [[Mutex<Option<T>>; 2]; 2],
}

/// Marks the pair as left when dropped, so that the other worker stops waiting.
pub(crate) struct Leave<'a, T>(&'a Pair<T>);

impl<T> Drop for Leave<'_, T> {
    fn drop(&mut self) {
        self.0.left.store(true, Ordering::Release);
    }
}

impl<T: Clone> Pair<T> {
    pub(crate) fn new() -> Pair<T> {
        Pair {
            state: AtomicU8::new(PENDING),
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            left: AtomicBool::new(false),
            slots: [
                [Mutex::new(None), Mutex::new(None)],
                [Mutex::new(None), Mutex::new(None)],
            ],
        }
    }

    /// The partner's side: joins unless the lead has already gone on alone.
    pub(crate) fn join(&self) -> bool {
        self.state
            .compare_exchange(PENDING, JOINED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The lead's side: waits up to `patience` for the partner to join, then goes on alone.
    pub(crate) fn recruit(&self, patience: Duration) -> bool {
        let start = Instant::now();
        let mut spins = 0;
        while self.state.load(Ordering::Acquire) == PENDING && start.elapsed() < patience {
            pause(&mut spins);
        }
        match self
            .state
            .compare_exchange(PENDING, ALONE, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => false,
            Err(state) => state == JOINED,
        }
    }

    /// A guard to hold while working: dropping it (also on unwinding) releases the other worker.
    pub(crate) fn leave_on_drop(&self) -> Leave<'_, T> {
        Leave(self)
    }

    /// Waits until both workers have arrived.
    pub(crate) fn meet(&self) -> Result<(), Abandoned> {
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) == 1 {
            self.arrived.store(0, Ordering::Release);
            self.generation.fetch_add(1, Ordering::AcqRel);
            return Ok(());
        }
        let mut spins = 0;
        while self.generation.load(Ordering::Acquire) == generation {
            if self.left.load(Ordering::Acquire) {
                return Err(Abandoned);
            }
            pause(&mut spins);
        }
        Ok(())
    }

    /// Hands `mine` to the other worker and returns theirs, for exchange number `round`.
    pub(crate) fn exchange(&self, round: usize, worker: usize, mine: T) -> Result<T, Abandoned> {
        *lock(&self.slots[round % 2][worker]) = Some(mine);
        self.meet()?;
        let theirs = lock(&self.slots[round % 2][1 - worker]).clone();
        theirs.ok_or(Abandoned)
    }
}

pub(crate) fn lock<T>(slot: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A worker that panicked while holding a slot left it whole (a plain store); use it.
    slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn pause(spins: &mut u32) {
    if *spins < SPINS {
        *spins += 1;
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_threads_exchange_every_round_in_order() {
        let pair = Pair::<usize>::new();
        let rounds = 10_000;
        std::thread::scope(|s| {
            s.spawn(|| {
                assert!(pair.join());
                let _leave = pair.leave_on_drop();
                for round in 0..rounds {
                    assert_eq!(pair.exchange(round, 1, 2 * round + 1), Ok(2 * round));
                }
            });
            assert!(pair.recruit(Duration::from_secs(60)));
            let _leave = pair.leave_on_drop();
            for round in 0..rounds {
                assert_eq!(pair.exchange(round, 0, 2 * round), Ok(2 * round + 1));
            }
        });
    }

    #[test]
    fn a_partner_that_comes_late_finds_the_lead_gone_alone() {
        let pair = Pair::<usize>::new();
        assert!(!pair.recruit(Duration::from_millis(1)));
        assert!(!pair.join());
    }

    #[test]
    fn a_partner_that_leaves_releases_the_lead() {
        let pair = Pair::<usize>::new();
        std::thread::scope(|s| {
            s.spawn(|| {
                assert!(pair.join());
                let _leave = pair.leave_on_drop();
                pair.exchange(0, 1, 7).unwrap();
            });
            assert!(pair.recruit(Duration::from_secs(60)));
            assert_eq!(pair.exchange(0, 0, 3), Ok(7));
            assert_eq!(pair.exchange(1, 0, 4), Err(Abandoned));
        });
    }
}

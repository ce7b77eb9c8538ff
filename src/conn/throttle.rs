//! Flood control by back-pressure: when a client may have its next line
//! read.
//!
//! IRC servers throttle a flooder with "fake lag" and ssh-chat drops its
//! lines; here nothing is dropped and nobody is disconnected. A client over
//! its rate is simply read more slowly: its next lines wait in its own
//! connection (TCP pushes back on its sender), and no one else's line waits
//! for it, since each connection has its own reader.
//!
//! The rule is a token bucket (`burst` lines at once, then `lines` per
//! `per`), kept as one instant (GCRA's theoretical arrival time): a
//! connection pays 16 bytes for it, and a timer only while it is over its
//! rate.

use std::time::{Duration, Instant};

use crate::config::Rate;

/// Where a connection stands against its rate.
#[derive(Default)]
pub struct Throttle {
    /// When the bucket is next empty-handed by one line: a line read before
    /// `due - (burst - 1) * interval` is over the rate. `None` until the
    /// first line.
    due: Option<Instant>,
}

impl Throttle {
    /// When the next line may be read under `rate`, if not at `now`.
    pub fn wait_until(&self, rate: &Rate, now: Instant) -> Option<Instant> {
        let due = self.due?;
        let tolerance = interval(rate).saturating_mul(rate.burst.saturating_sub(1));
        let allowed = due.checked_sub(tolerance).unwrap_or(now);
        (allowed > now).then_some(allowed)
    }

    /// Notes what costs `lines` lines at `now`: a line read, or a long
    /// answer.
    pub fn count(&mut self, rate: &Rate, now: Instant, lines: u32) {
        let due = self.due.map_or(now, |due| due.max(now));
        self.due = Some(due + interval(rate).saturating_mul(lines));
    }
}

impl Throttle {
    /// Waits until the next line may be read under `rate`, if there is
    /// one. (Boxed: the timer takes room only while it runs.)
    pub async fn pace(&self, rate: Option<&Rate>) {
        if let Some(until) = rate.and_then(|rate| self.wait_until(rate, Instant::now())) {
            Box::pin(smol::Timer::at(until)).await;
        }
    }

    /// Notes a line read now, under `rate` if there is one.
    pub fn counted(&mut self, rate: Option<&Rate>) {
        self.charge(rate, 1);
    }

    /// Notes what costs `lines` lines now (a long answer, say), under
    /// `rate` if there is one.
    pub fn charge(&mut self, rate: Option<&Rate>, lines: u32) {
        if let Some(rate) = rate {
            self.count(rate, Instant::now(), lines);
        }
    }
}

/// The time one line of the rate takes.
fn interval(rate: &Rate) -> Duration {
    rate.per / rate.lines.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: Rate = Rate {
        lines: 5,
        per: Duration::from_secs(1),
        burst: 20,
    };

    /// How many of `count` lines, offered at `now`, may be read at once.
    fn at_once(throttle: &mut Throttle, now: Instant, count: usize) -> usize {
        let mut read = 0;
        while read < count && throttle.wait_until(&RATE, now).is_none() {
            throttle.count(&RATE, now, 1);
            read += 1;
        }
        read
    }

    #[test]
    fn a_burst_then_the_rate() {
        let start = Instant::now();
        let mut throttle = Throttle::default();
        assert_eq!(at_once(&mut throttle, start, 100), 20, "the burst");
        let next = throttle.wait_until(&RATE, start).expect("a wait");
        assert_eq!(next - start, Duration::from_millis(200), "one line's time");
        assert_eq!(at_once(&mut throttle, next, 100), 1);
        let second = next + Duration::from_secs(1);
        assert_eq!(at_once(&mut throttle, second, 100), 5, "the rate");
    }

    #[test]
    fn a_long_answer_costs_its_lines() {
        let start = Instant::now();
        let mut throttle = Throttle::default();
        throttle.count(&RATE, start, 14);
        assert_eq!(at_once(&mut throttle, start, 100), 6, "the burst less 14");
    }

    #[test]
    fn a_quiet_client_gets_its_burst_back() {
        let start = Instant::now();
        let mut throttle = Throttle::default();
        at_once(&mut throttle, start, 100);
        let later = start + Duration::from_secs(60);
        assert_eq!(at_once(&mut throttle, later, 100), 20);
    }

    #[test]
    fn a_steady_client_under_the_rate_never_waits() {
        let start = Instant::now();
        let mut throttle = Throttle::default();
        for second in 0..100 {
            let now = start + Duration::from_millis(250 * second);
            assert!(throttle.wait_until(&RATE, now).is_none(), "line {second}");
            throttle.count(&RATE, now, 1);
        }
    }
}

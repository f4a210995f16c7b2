//! Waiting for a condition: the one loop every test uses.

use std::future::Future;
use std::time::{Duration, Instant};

/// Calls `f` every `every` until it gives `Some`, for at most `deadline`
/// (it is called at least once, and once more at the deadline). `None`
/// when the deadline passed: the caller fails with what it saw last.
///
/// It sleeps the thread. Inside a runtime, where what is waited for may
/// need the runtime's own tasks (a port forward, a log reader), use
/// [`wait_until_async`].
pub fn wait_until<T>(
    deadline: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> Option<T> {
    let until = Instant::now() + deadline;
    loop {
        let last_try = Instant::now() >= until;
        if let Some(v) = f() {
            return Some(v);
        }
        if last_try {
            return None;
        }
        std::thread::sleep(every.min(until.saturating_duration_since(Instant::now())));
    }
}

/// [`wait_until`] for async conditions, sleeping on the runtime.
pub async fn wait_until_async<T, F>(
    deadline: Duration,
    every: Duration,
    mut f: impl FnMut() -> F,
) -> Option<T>
where
    F: Future<Output = Option<T>>,
{
    let until = Instant::now() + deadline;
    loop {
        let last_try = Instant::now() >= until;
        if let Some(v) = f().await {
            return Some(v);
        }
        if last_try {
            return None;
        }
        tokio::time::sleep(every.min(until.saturating_duration_since(Instant::now()))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_the_first_some() {
        let mut n = 0;
        let got = wait_until(Duration::from_secs(5), Duration::from_millis(1), || {
            n += 1;
            (n == 3).then_some(n)
        });
        assert_eq!(got, Some(3));
    }

    #[test]
    fn tries_once_more_at_the_deadline_then_gives_none() {
        let mut tries = 0;
        let started = Instant::now();
        let got: Option<()> =
            wait_until(Duration::from_millis(30), Duration::from_millis(10), || {
                tries += 1;
                None
            });
        assert_eq!(got, None);
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert!(tries >= 2, "{tries}");
    }

    #[tokio::test]
    async fn async_gives_the_first_some() {
        let mut n = 0;
        let got = wait_until_async(Duration::from_secs(5), Duration::from_millis(1), || {
            n += 1;
            let v = n;
            async move { (v == 2).then_some(v) }
        })
        .await;
        assert_eq!(got, Some(2));
    }
}

//! Abuse limits: token buckets (governor's GCRA) per client address and per account, for
//! signing in and up, resetting passwords, posting, boosting and flagging. Client addresses come
//! from [`crate::client_ip`], which reads X-Forwarded-For only through trusted proxies.
//! The buckets live in each node's memory: with several nodes, a client spread across them
//! gets each node's allowance.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::{LimitsConfig, Rate};
use crate::error::AppError;

/// Which allowance a request draws on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    SignInIp,
    SignInAccount,
    SignUpIp,
    ResetIp,
    PostAccount,
    PostIp,
    BoostAccount,
    FlagAccount,
}

const ALL: [Limit; 8] = [
    Limit::SignInIp,
    Limit::SignInAccount,
    Limit::SignUpIp,
    Limit::ResetIp,
    Limit::PostAccount,
    Limit::PostIp,
    Limit::BoostAccount,
    Limit::FlagAccount,
];

pub struct Limits {
    buckets: Vec<Option<DefaultKeyedRateLimiter<String>>>,
    clock: DefaultClock,
}

fn rate(config: &LimitsConfig, limit: Limit) -> Rate {
    match limit {
        Limit::SignInIp => config.sign_in_per_ip,
        Limit::SignInAccount => config.sign_in_per_account,
        Limit::SignUpIp => config.sign_up_per_ip,
        Limit::ResetIp => config.reset_per_ip,
        Limit::PostAccount => config.post_per_account,
        Limit::PostIp => config.post_per_ip,
        Limit::BoostAccount => config.boost_per_account,
        Limit::FlagAccount => config.flag_per_account,
    }
}

fn quota(rate: Rate) -> Option<Quota> {
    let n = NonZeroU32::new(rate.n)?;
    let period = Duration::from_secs(rate.secs.max(1)) / rate.n;
    Some(Quota::with_period(period.max(Duration::from_nanos(1)))?.allow_burst(n))
}

impl Limits {
    pub fn new(config: &LimitsConfig) -> Self {
        Self {
            buckets: ALL
                .iter()
                .map(|limit| quota(rate(config, *limit)).map(DefaultKeyedRateLimiter::keyed))
                .collect(),
            clock: DefaultClock::default(),
        }
    }

    /// The key of a client address: IPv4 addresses whole, IPv6 by their /64 (one subscriber's
    /// network, whose addresses a client can rotate at will).
    pub fn ip_key(ip: std::net::IpAddr) -> String {
        match ip {
            std::net::IpAddr::V4(v4) => v4.to_string(),
            std::net::IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        }
    }

    /// Takes one from `key`'s bucket, or answers 429 with when to try again.
    pub fn check(&self, limit: Limit, key: &str) -> Result<(), AppError> {
        let index = ALL.iter().position(|l| *l == limit).unwrap_or(0);
        let Some(Some(bucket)) = self.buckets.get(index) else {
            return Ok(());
        };
        bucket.check_key(&key.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            AppError::TooManyRequests {
                retry_after: wait.as_secs().max(1),
            }
        })
    }

    /// Forgets buckets that are full again (run now and then, so memory stays bounded).
    pub fn tidy(&self) {
        for bucket in self.buckets.iter().flatten() {
            bucket.retain_recent();
            bucket.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_and_says_when_to_retry() {
        let config = LimitsConfig {
            sign_in_per_ip: Rate::new(2, 60),
            ..LimitsConfig::default()
        };
        let limits = Limits::new(&config);
        assert!(limits.check(Limit::SignInIp, "1.2.3.4").is_ok());
        assert!(limits.check(Limit::SignInIp, "1.2.3.4").is_ok());
        match limits.check(Limit::SignInIp, "1.2.3.4") {
            Err(AppError::TooManyRequests { retry_after }) => {
                assert!((1..=30).contains(&retry_after), "{retry_after}")
            }
            other => panic!("expected 429, got {other:?}"),
        }
        // Other clients have their own bucket.
        assert!(limits.check(Limit::SignInIp, "5.6.7.8").is_ok());
    }

    #[test]
    fn ipv6_clients_are_limited_by_their_network() {
        let a: std::net::IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(std::net::IpAddr::from([0; 4]));
        let b: std::net::IpAddr = "2001:db8:1:2:ffff::9"
            .parse()
            .unwrap_or(std::net::IpAddr::from([0; 4]));
        let c: std::net::IpAddr = "2001:db8:1:3::1"
            .parse()
            .unwrap_or(std::net::IpAddr::from([0; 4]));
        assert_eq!(Limits::ip_key(a), Limits::ip_key(b));
        assert_ne!(Limits::ip_key(a), Limits::ip_key(c));
        assert_eq!(
            Limits::ip_key(std::net::IpAddr::from([1, 2, 3, 4])),
            "1.2.3.4"
        );
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let config = LimitsConfig {
            boost_per_account: Rate::new(0, 60),
            ..LimitsConfig::default()
        };
        let limits = Limits::new(&config);
        for _ in 0..1000 {
            assert!(limits.check(Limit::BoostAccount, "u1").is_ok());
        }
    }
}

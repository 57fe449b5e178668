//! Who is asking: the peer's address, or — only when the peer is a proxy you trust — the
//! address that proxy reports in X-Forwarded-For. The header is read from the right, skipping
//! trusted hops: its leftmost entries are whatever the client chose to send.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::app::AppState;

/// The client's address, as a request extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .unwrap_or(ClientIp(IpAddr::from([127, 0, 0, 1]))))
    }
}

/// Resolves the client address from the peer and the forwarding header.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            // A hop we cannot read ends the chain: trust nothing further left.
            Err(_) => break,
        }
    }
    client
}

/// Adds [`ClientIp`] to every request.
pub async fn middleware(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |info| info.0.ip());
    let ip = resolve(peer, request.headers(), &state.config.trusted_proxies);
    request.extensions_mut().insert(ClientIp(ip));
    let response = next.run(request).await;
    if response.status().is_server_error() {
        tracing::warn!(client = %ip, status = %response.status(), "request failed");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn xff(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static(value));
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn untrusted_peers_are_taken_at_their_word_only() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"))];
        // A client talking to us directly cannot choose its address with a header.
        assert_eq!(
            resolve(ip("203.0.113.9"), &xff("1.2.3.4"), &trusted),
            ip("203.0.113.9")
        );
        // Through our proxy: the address the proxy saw, not what the client wrote before it.
        assert_eq!(
            resolve(ip("10.0.0.2"), &xff("6.6.6.6, 198.51.100.7"), &trusted),
            ip("198.51.100.7")
        );
        // Through two of our proxies.
        assert_eq!(
            resolve(ip("10.0.0.2"), &xff("198.51.100.7, 10.0.0.3"), &trusted),
            ip("198.51.100.7")
        );
        // No proxies configured: never read the header.
        assert_eq!(
            resolve(ip("10.0.0.2"), &xff("198.51.100.7"), &[]),
            ip("10.0.0.2")
        );
        // Garbage in the header stops the walk at the last good hop.
        assert_eq!(
            resolve(ip("10.0.0.2"), &xff("198.51.100.7, nonsense"), &trusted),
            ip("10.0.0.2")
        );
    }
}

//! The address a request comes from, for rate limits and logs: the peer's,
//! or, when the peer is a configured trusted proxy, the address that proxy
//! forwarded in `X-Forwarded-For`. Nobody else's forwarded header is believed.

use std::net::{IpAddr, SocketAddr};

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::serve::IncomingStream;
use ipnet::IpNet;

use crate::error::ApiError;
use crate::state::AppState;

/// A set of addresses and networks from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Networks(Vec<IpNet>);

impl Networks {
    /// Parses addresses (`10.0.0.7`) and networks (`10.0.0.0/8`, `fd00::/8`);
    /// `setting` names the configuration key in the error.
    pub fn parse(setting: &str, entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{setting}: {entry:?} is not an address or a network"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|net| net.contains(&address))
    }
}

/// The proxies whose `X-Forwarded-For` is believed (`trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Networks);

impl TrustedProxies {
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        Networks::parse("trusted_proxies", entries).map(Self)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.contains(address)
    }

    /// The client behind `peer`: the right-most address of the forwarded
    /// chain that is not itself a trusted proxy (each proxy appends the
    /// address it received from, so what is left of that can be forged). A
    /// chain that cannot be read counts as no chain.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut chain = Vec::new();
        for value in headers.get_all("x-forwarded-for") {
            let Ok(value) = value.to_str() else { return peer };
            for hop in value.split(',') {
                match hop.trim().parse::<IpAddr>() {
                    Ok(address) => chain.push(address),
                    Err(_) => return peer,
                }
            }
        }
        let mut client = peer;
        for address in chain.into_iter().rev() {
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        client
    }
}

/// The address of the other end of the connection, over plain TCP or TLS.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, crate::tls::PlainListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, crate::tls::PlainListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, crate::tls::TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, crate::tls::TlsListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// The requesting client's address (see [`TrustedProxies::client`]).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<Peer>>()
            .map(|ConnectInfo(Peer(addr))| addr.ip())
            .ok_or(ApiError(qiao_domain::Error::Internal, None))?;
        Ok(ClientIp(app.proxies.client(peer, &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append("x-forwarded-for", v.parse().unwrap_or_else(|_| unreachable!()));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn only_a_trusted_peer_is_believed() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "192.0.2.1".into()]).unwrap_or_default();
        let forwarded = headers(&["203.0.113.9"]);
        assert_eq!(proxies.client(ip("198.51.100.4"), &forwarded), ip("198.51.100.4"));
        assert_eq!(proxies.client(ip("10.1.2.3"), &forwarded), ip("203.0.113.9"));
        assert_eq!(proxies.client(ip("192.0.2.1"), &forwarded), ip("203.0.113.9"));
        assert_eq!(proxies.client(ip("192.0.2.2"), &forwarded), ip("192.0.2.2"));
        assert_eq!(
            TrustedProxies::default().client(ip("10.1.2.3"), &forwarded),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into()]).unwrap_or_default();
        // The client forged the first entry; the edge proxy appended the real one.
        let forwarded = headers(&["1.1.1.1, 203.0.113.9, 10.0.0.5"]);
        assert_eq!(proxies.client(ip("10.0.0.6"), &forwarded), ip("203.0.113.9"));
        let split = headers(&["1.1.1.1", "203.0.113.9"]);
        assert_eq!(proxies.client(ip("10.0.0.6"), &split), ip("203.0.113.9"));
        let all_proxies = headers(&["10.0.0.4, 10.0.0.5"]);
        assert_eq!(proxies.client(ip("10.0.0.6"), &all_proxies), ip("10.0.0.4"));
        assert_eq!(proxies.client(ip("10.0.0.6"), &HeaderMap::new()), ip("10.0.0.6"));
        assert_eq!(proxies.client(ip("10.0.0.6"), &headers(&["not-an-ip"])), ip("10.0.0.6"));
        let v4_mapped = TrustedProxies::parse(&["127.0.0.1".into()]).unwrap_or_default();
        assert_eq!(
            v4_mapped.client(ip("::ffff:127.0.0.1"), &headers(&["203.0.113.9"])),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["proxy.local".into()]).is_err());
        assert!(TrustedProxies::parse(&[" fd00::/8 ".into(), "::1".into()]).is_ok());
    }
}

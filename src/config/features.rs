//! Flags of features a build may lack (`--http`, `--redis`, `--tls-cert`):
//! a build without one refuses its flags with the command that builds one
//! with it, keeping the features it has.

/// `value` of `flag`, if this `chat` was `built` with what the flag needs;
/// otherwise how to build one that is.
pub fn built_with(flag: &str, built: bool, value: String) -> Result<String, String> {
    if built {
        return Ok(value);
    }
    Err(missing_feature(
        flag,
        cfg!(feature = "web"),
        cfg!(feature = "redis"),
    ))
}

/// Whether this `chat` speaks TLS (`--tls-cert`).
pub const TLS: bool = cfg!(feature = "tls");

/// How to build a `chat` with what `flag` needs, keeping the features this
/// one has (`web`, `redis`, `tls`): the advice must not take one away.
fn missing_feature(flag: &str, web: bool, redis: bool) -> String {
    let (what, features) = match flag {
        "--tls-cert" | "--tls-key" => ("TLS", tls_features(web, redis)),
        "--redis" | "--heartbeat" | "--heartbeat-lifetime" if web => ("Redis", "web,redis"),
        "--redis" | "--heartbeat" | "--heartbeat-lifetime" => ("Redis", "redis"),
        _ if redis => ("the page", "web,redis"),
        _ => ("the page", "web"),
    };
    let tls = if TLS && !features.ends_with("tls") {
        ",tls"
    } else {
        ""
    };
    format!(
        "{flag}: this chat was built without {what}; build it with \
         `cargo build --release --features {features}{tls}`"
    )
}

/// The features of a build with TLS and the `web` and `redis` it has.
fn tls_features(web: bool, redis: bool) -> &'static str {
    match (web, redis) {
        (true, true) => "web,redis,tls",
        (true, false) => "web,tls",
        (false, true) => "redis,tls",
        (false, false) => "tls",
    }
}

/// `--redis URL`, in a build with Redis; `rediss://` (TLS) only in a
/// build with TLS too.
pub fn redis_url(text: String) -> Result<String, String> {
    let url = built_with("--redis", cfg!(feature = "redis"), text)?;
    if TLS || !url.starts_with("rediss://") {
        return Ok(url);
    }
    Err(format!(
        "--redis {url}: this chat was built without TLS; build it with \
         `cargo build --release --features {}`",
        tls_features(cfg!(feature = "web"), true)
    ))
}

/// `--tls-cert` and `--tls-key`, which come together.
#[cfg(feature = "tls")]
pub fn tls_pair(
    cert: Option<String>,
    key: Option<String>,
) -> Result<Option<(String, String)>, String> {
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(Some((cert, key))),
        (Some(_), None) => Err("--tls-cert needs --tls-key FILE".to_string()),
        (None, Some(_)) => Err("--tls-key needs --tls-cert FILE".to_string()),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rediss://` needs TLS; `redis://` does not.
    #[cfg(feature = "redis")]
    #[test]
    fn rediss_needs_a_build_with_tls() {
        let plain = "redis://127.0.0.1:6379".to_string();
        assert_eq!(redis_url(plain.clone()), Ok(plain));
        let tls = redis_url("rediss://127.0.0.1:6379".to_string());
        if TLS {
            assert!(tls.is_ok(), "{tls:?}");
        } else {
            let refused = tls.err().unwrap_or_default();
            let want = "--redis rediss://127.0.0.1:6379: this chat was built without TLS";
            assert!(refused.starts_with(want), "{refused}");
        }
    }

    /// The certificate and its key come together.
    #[cfg(feature = "tls")]
    #[test]
    fn a_certificate_needs_its_key() {
        let pair = |cert: Option<&str>, key: Option<&str>| {
            tls_pair(cert.map(str::to_string), key.map(str::to_string))
        };
        assert_eq!(pair(None, None), Ok(None));
        let both = Some(("c.pem".to_string(), "k.pem".to_string()));
        assert_eq!(pair(Some("c.pem"), Some("k.pem")), Ok(both));
        let needs = "--tls-cert needs --tls-key FILE";
        assert_eq!(pair(Some("c.pem"), None), Err(needs.to_string()));
        let needs = "--tls-key needs --tls-cert FILE";
        assert_eq!(pair(None, Some("k.pem")), Err(needs.to_string()));
    }

    /// The advice for a missing feature keeps the one the build has.
    #[test]
    fn a_missing_feature_is_built_beside_the_other() {
        let build = |flag, web, redis| {
            let error = missing_feature(flag, web, redis);
            error.split('`').nth(1).unwrap_or_default().to_string()
        };
        let tls = if TLS { ",tls" } else { "" };
        let cargo = |features: &str| format!("cargo build --release --features {features}");
        assert_eq!(build("--http", false, false), cargo(&format!("web{tls}")));
        assert_eq!(
            build("--http", false, true),
            cargo(&format!("web,redis{tls}"))
        );
        assert_eq!(
            build("--redis", false, false),
            cargo(&format!("redis{tls}"))
        );
        assert_eq!(
            build("--heartbeat", false, false),
            cargo(&format!("redis{tls}"))
        );
        assert_eq!(
            build("--redis", true, false),
            cargo(&format!("web,redis{tls}"))
        );
        assert_eq!(build("--tls-cert", true, false), cargo("web,tls"));
        assert_eq!(build("--tls-key", false, false), cargo("tls"));
    }
}

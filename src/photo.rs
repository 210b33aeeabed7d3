//! Photos Authing rewrites. Its `register` (and `createUser`, the management copy) uploads a
//! `photo` whose host is not Authing's CDN to that CDN and stores the CDN URL instead ("如果域名
//! 不是 Authing 的 CDN，将会先被上传至 Authing CDN", Authing/api `register`), so the stored URL
//! differs from the declared one and no later read can tell which picture it is a copy of.
//!
//! The rules that follow from it, used by the diff and by apply:
//!
//! - A new user's external photo is not sent with the creation but right after it, with
//!   `updateUser` (whose docs describe no upload: the SDK uploads files itself and sends the
//!   resulting URL), so the pool holds the declared URL.
//! - A live photo on Authing's CDN where a manifest declares an external URL is not an update:
//!   sending it again would be copied again, every night. The plan says so instead (a notice).
//!   To replace such a picture, declare a new URL on Authing's CDN, or change it in the console.

/// Hosts that serve Authing's CDN copies: `usercontents.authing.cn` (the v1 SDKs' `cdnHost`,
/// where uploaded avatars land as `avatar-<user id>-<ms>`, and the default avatar) and
/// `files.authing.co` (the default avatar and console assets since 2021).
pub const CDN_HOSTS: [&str; 2] = ["usercontents.authing.cn", "files.authing.co"];

/// The host of an `http(s)://` URL, lowercased, without user info or port.
fn host(url: &str) -> Option<String> {
    let url = url.trim();
    let scheme_end = url.find("://")?;
    if !matches!(
        url[..scheme_end].to_ascii_lowercase().as_str(),
        "http" | "https"
    ) {
        return None;
    }
    let rest = &url[scheme_end + 3..];
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = host_port.split(':').next().unwrap_or_default();
    (!host.is_empty()).then(|| host.trim_end_matches('.').to_ascii_lowercase())
}

/// Whether a URL is on Authing's CDN.
pub fn on_authing_cdn(url: &str) -> bool {
    host(url).is_some_and(|host| CDN_HOSTS.contains(&host.as_str()))
}

/// Whether Authing would upload this photo to its CDN at registration: a web URL elsewhere.
pub fn is_external(url: &str) -> bool {
    host(url).is_some() && !on_authing_cdn(url)
}

/// Whether a URL is one of Authing's default avatars (what a user created without a photo
/// holds: `default-user-avatar.png` since 2021, `authing-avatar.png` before), never a copy.
pub fn is_default_avatar(url: &str) -> bool {
    on_authing_cdn(url)
        && url
            .trim()
            .split(['?', '#'])
            .next()
            .and_then(|path| path.rsplit('/').next())
            .is_some_and(|name| {
                name.eq_ignore_ascii_case("default-user-avatar.png")
                    || name.eq_ignore_ascii_case("authing-avatar.png")
            })
}

/// Whether a live photo may be Authing's CDN copy of the declared one: the declared photo is an
/// external URL and the live one a different URL on Authing's CDN that is not a default avatar.
pub fn may_be_cdn_copy(declared: &str, live: &str) -> bool {
    is_external(declared)
        && on_authing_cdn(live)
        && !is_default_avatar(live)
        && declared.trim() != live.trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_avatar_is_never_taken_for_a_copy() {
        let declared = "https://example.com/p4.png";
        for live in [
            "https://files.authing.co/authing-console/default-user-avatar.png",
            "https://usercontents.authing.cn/authing-avatar.png",
        ] {
            assert!(is_default_avatar(live));
            assert!(!may_be_cdn_copy(declared, live), "{live}");
        }
        let copy = "https://usercontents.authing.cn/avatar-5e53ee0684197a42d319628b-1582558729878";
        assert!(!is_default_avatar(copy));
        assert!(may_be_cdn_copy(declared, copy));
    }

    #[test]
    fn authing_cdn_urls_are_recognised() {
        assert!(on_authing_cdn(
            "https://usercontents.authing.cn/avatar-5e53ee0684197a42d319628b-1582558729878"
        ));
        assert!(on_authing_cdn(
            "https://usercontents.authing.cn/authing-avatar.png"
        ));
        assert!(on_authing_cdn(
            "HTTPS://Files.Authing.CO:443/authing-console/default-user-avatar.png"
        ));
        assert!(!on_authing_cdn(
            "https://usercontents.authing.cn.example.com/a.png"
        ));
        assert!(!on_authing_cdn(
            "https://example.com/usercontents.authing.cn/a.png"
        ));
        assert!(!on_authing_cdn(
            "https://evil.com?u=https://files.authing.co/a.png"
        ));
        assert!(!on_authing_cdn("usercontents.authing.cn/a.png"));
        assert!(!on_authing_cdn(""));
    }

    #[test]
    fn only_web_urls_elsewhere_are_external() {
        assert!(is_external("https://example.com/alice.png"));
        assert!(is_external("http://user@cdn.example.com:8080/a.png"));
        assert!(!is_external("https://files.authing.co/a.png"));
        assert!(!is_external("alice.png"));
        assert!(!is_external(""));
        assert!(!is_external("data:image/png;base64,AAAA"));
    }

    #[test]
    fn a_cdn_photo_for_a_declared_external_one_may_be_its_copy() {
        let declared = "https://example.com/alice.png";
        assert!(may_be_cdn_copy(
            declared,
            "https://usercontents.authing.cn/avatar-u1-1582558729878"
        ));
        assert!(!may_be_cdn_copy(declared, "https://example.com/bob.png"));
        assert!(!may_be_cdn_copy(declared, ""));
        assert!(!may_be_cdn_copy(
            "https://files.authing.co/new.png",
            "https://usercontents.authing.cn/old.png"
        ));
        assert!(!may_be_cdn_copy(
            "",
            "https://usercontents.authing.cn/old.png"
        ));
    }
}

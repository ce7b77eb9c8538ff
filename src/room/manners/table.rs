//! The operators' look at the bans: `/bans` and `/unban ADDRESS`.

use std::time::SystemTime;

use super::{error, log_act, tell, Manners};
use crate::bans::{because, utc, Group};
use crate::line::{text_line, Line};
use crate::room::audience::Audience;

/// `/bans`: a line a ban, for the asker.
pub(super) fn bans(from: u64, audience: &mut Audience, manners: &mut Manners) -> Option<usize> {
    let live = manners.bans.lock().live(SystemTime::now());
    if live.is_empty() {
        tell(audience, from, text_line(&["Nobody is banned"]));
    }
    for (group, entry) in live {
        let why = because(entry.reason.as_deref());
        let text = format!("{group} until {} by {}{why}", utc(entry.until), entry.by);
        tell(audience, from, text_line(&[&text]));
    }
    None
}

/// `/unban ADDRESS`: the answer.
pub(super) fn unban(name: &str, arg: &[u8], manners: &mut Manners) -> Line {
    if arg.is_empty() {
        return error("usage: /unban ADDRESS");
    }
    let text = String::from_utf8_lossy(arg);
    let Some(group) = Group::parse(&text) else {
        return error(&format!(
            "bad address \"{text}\" (an IPv4 address, or an IPv6 address or its /64)"
        ));
    };
    if !manners.bans.lock().remove(group, SystemTime::now()) {
        return error(&format!("{group} is not banned"));
    }
    log_act(name, "unbanned", &group.to_string());
    manners.save(format!("ban {group}"), None);
    text_line(&["Unbanned ", &group.to_string()])
}

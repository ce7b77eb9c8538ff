//! The operators' look at the tables by address: `/bans`, `/mutes`,
//! `/unban ADDRESS` and `/unmute ADDRESS`.

use std::time::SystemTime;

use super::{error, log_act, tell, Manners};
use crate::bans::{because, utc, Entry, Group};
use crate::line::{text_line, Line};
use crate::room::audience::Audience;

/// `/bans`: a line a ban, for the asker.
pub(super) fn bans(from: u64, audience: &mut Audience, manners: &mut Manners) -> Option<usize> {
    let live = manners.bans.lock().live(SystemTime::now());
    list(from, live, "Nobody is banned", audience)
}

/// `/mutes`: a line a mute of an address, for the asker.
pub(super) fn mutes(from: u64, audience: &mut Audience, manners: &mut Manners) -> Option<usize> {
    let live = manners.mutes.live(SystemTime::now());
    list(from, live, "Nobody is muted", audience)
}

/// The lines of `/bans` and `/mutes`: `ADDRESS until WHEN by OP: REASON`
/// each, or `none`.
fn list(
    from: u64,
    live: Vec<(Group, Entry)>,
    none: &str,
    audience: &mut Audience,
) -> Option<usize> {
    if live.is_empty() {
        tell(audience, from, text_line(&[none]));
    }
    for (group, entry) in live {
        let why = because(entry.reason.as_deref());
        let text = format!("{group} until {} by {}{why}", utc(entry.until), entry.by);
        tell(audience, from, text_line(&[&text]));
    }
    None
}

/// `/unmute ADDRESS`: the answer. Whoever is here from it is no longer
/// muted either (the room was told of them by name, if at all).
pub(super) fn unmute(name: &str, group: Group, manners: &mut Manners) -> Line {
    let was = manners.mutes.remove(group, SystemTime::now());
    let mut unmuted = Vec::new();
    for (&id, person) in manners.people.iter_mut() {
        if person.address == Some(group) && person.muted.take().is_some() {
            unmuted.push(id);
        }
    }
    for id in unmuted {
        manners.keep_person(id);
    }
    if !was {
        return error(&format!("{group} is not muted"));
    }
    log_act(name, "unmuted", &group.to_string());
    manners.save(format!("mute {group}"), None);
    text_line(&["Unmuted ", &group.to_string()])
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

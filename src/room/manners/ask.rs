//! What each command of operators and manners does, in its place in the
//! one order: the lines of PROTOCOL.md's "Operators and manners", to the
//! asker alone, to the one it concerns, or to everyone.
//!
//! An operator's command is refused, and changes nothing, when its asker
//! is no operator, names nobody here, names its asker, or gives a
//! duration that is not one; each refusal is one `error:` line to the
//! asker. Every operator's act is logged: who, what, whom.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{error, everyone, log_act, table, tell, Manners};
use crate::bans::{because, Entry, Group};
use crate::command::{split_word, Ask, RIGHT, WRONG};
use crate::config::parse_duration;
use crate::line::{self, text_line, Line};
use crate::names;
use crate::room::audience::Audience;

/// How long a ban lasts when its operator says nothing.
const BAN: Duration = Duration::from_secs(3600);

/// How long a mute lasts when its operator says nothing.
const MUTE: Duration = Duration::from_secs(600);

/// The longest a ban or a mute may last: 30 days.
const LONGEST: Duration = Duration::from_secs(30 * 86_400);

/// Wrong passwords a connection may try; the last of them closes it.
const WRONG_PASSWORDS: u8 = 3;

/// What `/op` says to one who is not let in, and why.
const NO_PASSWORD: &str = "error: this server has no operator password";

/// Carries out `ask` with its argument `arg`, from member `from`, now
/// called `name`. Returns the length of a line broadcast, if any, for the
/// room's pacing. (Never inlined, nor are the helpers below: this is
/// seldom code, and the default binary is kept small.)
#[inline(never)]
pub fn apply(
    from: u64,
    name: &Arc<str>,
    ask: Ask,
    arg: &[u8],
    audience: &mut Audience,
    manners: &mut Manners,
) -> Option<usize> {
    let me = Asker { from, name };
    let operator = manners.is_operator(from);
    let reply = match ask {
        Ask::Mark => return mark(me, arg, audience, manners),
        Ask::Op => return op(me, arg, audience, manners),
        Ask::Topic if arg.is_empty() => match &manners.topic {
            Some(topic) => line::line(&[b"Topic: ", topic]),
            None => text_line(&["No topic is set"]),
        },
        Ask::Ignore if arg.is_empty() => everyone::ignoring(from, audience, manners),
        Ask::Ignore | Ask::Unignore => everyone::ignore(me, ask, arg, audience, manners),
        Ask::Away => everyone::away(from, arg, manners),
        Ask::Back => match manners.person(from).away.take() {
            Some(_) => {
                manners.keep_person(from);
                text_line(&["You are back"])
            }
            None => error("you are not away"),
        },
        Ask::Topic if !operator => error("only operators can set the topic"),
        _ if !operator => error(&format!("only operators can /{}", ask.word())),
        Ask::Topic => {
            manners.topic = Some(arg.to_vec());
            manners.save("topic".into(), Some(arg.to_vec()));
            log_act(name, "set the topic", &String::from_utf8_lossy(arg));
            let set = line::line(&[name.as_bytes(), b" set the topic: ", arg]);
            return Some(broadcast(audience, set));
        }
        Ask::Bans => return table::bans(from, audience, manners),
        Ask::Mutes => return table::mutes(from, audience, manners),
        Ask::Unban => table::unban(name, arg, manners),
        Ask::Kick | Ask::Ban => return send_away(me, ask, arg, audience, manners),
        Ask::Mute | Ask::Unmute => return mute(me, ask, arg, audience, manners),
    };
    tell(audience, from, reply)
}

/// Who asks, and as whom.
#[derive(Clone, Copy)]
pub(super) struct Asker<'a> {
    /// Its id.
    pub(super) from: u64,
    /// Its name now.
    pub(super) name: &'a Arc<str>,
}

/// `/op`, vouched for by the asker's connection: an operator from now on,
/// or one wrong password more (the last one closes the connection).
fn op(me: Asker, verdict: &[u8], audience: &mut Audience, manners: &mut Manners) -> Option<usize> {
    let reply = if !manners.password || verdict.is_empty() {
        text_line(&[NO_PASSWORD])
    } else if manners.is_operator(me.from) {
        // Already one: nothing to log, nothing to count.
        text_line(&["You are an operator"])
    } else if verdict == RIGHT {
        let person = manners.person(me.from);
        person.operator = true;
        person.wrong = 0;
        manners.keep_person(me.from);
        log_act(me.name, "became an operator", "");
        text_line(&["You are an operator"])
    } else if verdict == WRONG {
        log_act(me.name, "gave a wrong operator password", "");
        let person = manners.person(me.from);
        person.wrong += 1;
        if person.wrong >= WRONG_PASSWORDS {
            tell(audience, me.from, error("wrong operator password"));
            let farewell = error("too many wrong passwords");
            let left = text_line(&[me.name, " has left"]);
            audience.expel(me.from, farewell, left, "too many wrong passwords");
            manners.left(me.from);
            return None;
        }
        error("wrong operator password")
    } else {
        text_line(&[NO_PASSWORD])
    };
    tell(audience, me.from, reply)
}

/// `/kick NAME [REASON]` and `/ban NAME [DURATION] [REASON]`: the one
/// named gets its `error:` line and is closed; the room hears why in
/// place of its `has left`; a ban also refuses its address.
fn send_away(
    me: Asker,
    ask: Ask,
    arg: &[u8],
    audience: &mut Audience,
    manners: &mut Manners,
) -> Option<usize> {
    let (target, rest) = split_word(arg);
    let banning = ask == Ask::Ban;
    let found = match find(me, ask, target, audience) {
        Ok(found) => found,
        Err(why) => return tell(audience, me.from, why),
    };
    let (lasts, reason) = if banning && rest.first().is_some_and(u8::is_ascii_digit) {
        let (duration, reason) = split_word(rest);
        match duration_of(duration) {
            Ok(lasts) => (lasts, reason),
            Err(why) => return tell(audience, me.from, why),
        }
    } else {
        (BAN, rest)
    };
    let reason: Option<Arc<str>> =
        (!reason.is_empty()).then(|| String::from_utf8_lossy(reason).into());
    if banning {
        // Only the member's own server knows its address: that server
        // marks it in the room's order, and each server bans it then. It
        // bans it at once too, in case the member leaves before its mark
        // comes round (a mark of someone gone is no one's).
        if let Some(ip) = audience.address_of(found.0) {
            let entry = Entry {
                until: SystemTime::now() + lasts,
                by: me.name.clone(),
                reason: reason.clone(),
            };
            manners.bans.lock().insert(Group::of(ip), entry);
            let why = reason.as_deref().map(|why| format!(" {why}"));
            let text = format!(
                "ban {} {} {}{}",
                Group::of(ip),
                lasts.as_secs(),
                me.name,
                why.unwrap_or_default()
            );
            manners.mark(found.0, text);
        }
        return None;
    }
    let why = because(reason.as_deref());
    log_act(me.name, "kicked", &format!("{}{why}", found.1));
    Some(send_off(found, "kicked", me.name, &why, audience, manners))
}

/// Member `found` goes, `verb` (`kicked`, `banned`) by operator `by`,
/// `why` (`: REASON`, or nothing): its `error:` line, then its close; the
/// room hears of it in place of its leave. The length of that line.
fn send_off(
    found: (u64, Arc<str>),
    verb: &str,
    by: &str,
    why: &str,
    audience: &mut Audience,
    manners: &mut Manners,
) -> usize {
    let farewell = text_line(&["error: ", verb, " by ", by, why]);
    let announce = text_line(&[&found.1, " was ", verb, " by ", by, why]);
    let length = announce.len();
    audience.expel(found.0, farewell, announce, &format!("{verb} by {by}"));
    manners.left(found.0);
    length
}

/// A member's server marks its address (see [`Ask::Mark`]): `ban`, and
/// the member goes, its address banned on every server; or `mute`, its
/// address muted, and the member with it. Anything else is no mark.
fn mark(me: Asker, arg: &[u8], audience: &mut Audience, manners: &mut Manners) -> Option<usize> {
    let text = String::from_utf8_lossy(arg);
    let mut words = text.splitn(5, ' ');
    let (kind, group, lasts, by) = (words.next()?, words.next()?, words.next()?, words.next()?);
    let group = Group::parse(group)?;
    let lasts = Duration::from_secs(lasts.parse::<u64>().ok()?.min(LONGEST.as_secs()));
    let reason: Option<Arc<str>> = words.next().map(Arc::from);
    let by: Arc<str> = by.into();
    let until = SystemTime::now() + lasts;
    manners.person(me.from).address = Some(group);
    let entry = Entry {
        until,
        by: by.clone(),
        reason: reason.clone(),
    };
    if kind == "mute" {
        manners.save_entry("mute", group, &entry);
        manners.mutes.insert(group, entry);
        manners.person(me.from).muted = Some(until);
        manners.keep_person(me.from);
        return None;
    }
    manners.save_entry("ban", group, &entry);
    manners.bans.lock().insert(group, entry);
    let why = because(reason.as_deref());
    let whom = format!("{} ({group}) for {}", me.name, format_lasts(lasts));
    log_act(&by, "banned", &format!("{whom}{why}"));
    let found = (me.from, me.name.clone());
    Some(send_off(found, "banned", &by, &why, audience, manners))
}

/// `/mute NAME [DURATION]` and `/unmute NAME`: the room hears of it; a
/// mute holds the address too, so that leaving does not end it (and
/// `/unmute ADDRESS` ends it then). A mute of one muted mutes it anew,
/// for the duration given, said again.
fn mute(
    me: Asker,
    ask: Ask,
    arg: &[u8],
    audience: &mut Audience,
    manners: &mut Manners,
) -> Option<usize> {
    let (target, rest) = split_word(arg);
    let extra = if ask == Ask::Mute {
        split_word(rest).1
    } else {
        rest
    };
    if !extra.is_empty() {
        return tell(audience, me.from, usage(ask));
    }
    let (id, name) = match find(me, ask, target, audience) {
        Ok(found) => found,
        // Nobody here by that name: an address, whoever had it.
        Err(why) => {
            let group = std::str::from_utf8(target).ok().and_then(Group::parse);
            let answer = match group {
                Some(group) if ask == Ask::Unmute => table::unmute(me.name, group, manners),
                _ => why,
            };
            return tell(audience, me.from, answer);
        }
    };
    let now = SystemTime::now();
    let verb = if ask == Ask::Mute {
        let lasts = match rest {
            [] => MUTE,
            duration => match duration_of(duration) {
                Ok(lasts) => lasts,
                Err(why) => return tell(audience, me.from, why),
            },
        };
        manners.person(id).muted = Some(now + lasts);
        manners.keep_person(id);
        // The address, marked by the member's own server (see `mark`).
        if let Some(ip) = audience.address_of(id) {
            let text = format!("mute {} {} {}", Group::of(ip), lasts.as_secs(), me.name);
            manners.mark(id, text);
        }
        log_act(
            me.name,
            "muted",
            &format!("{name} for {}", format_lasts(lasts)),
        );
        "muted"
    } else {
        let live = manners.silenced(id).is_some();
        let person = manners.person(id);
        person.muted = None;
        if let Some(group) = person.address {
            manners.mutes.remove(group, now);
            manners.save(format!("mute {group}"), None);
        }
        manners.keep_person(id);
        if !live {
            return tell(audience, me.from, error(&format!("{name} is not muted")));
        }
        log_act(me.name, "unmuted", &name);
        "unmuted"
    };
    let told = text_line(&[&name, " was ", verb, " by ", me.name]);
    Some(broadcast(audience, told))
}

/// The member called `target` (by the name rules), for `ask`: its id and
/// name; or the `error:` line why not (nobody, no name, the asker).
pub(super) fn find(
    me: Asker,
    ask: Ask,
    target: &[u8],
    audience: &Audience,
) -> Result<(u64, Arc<str>), Line> {
    if target.is_empty() {
        return Err(usage(ask));
    }
    let holder = std::str::from_utf8(target)
        .ok()
        .and_then(|target| audience.roster()?.holder(&names::keys(target)));
    let Some(found) = holder.and_then(|id| Some((id, audience.name_of(id)?.clone()))) else {
        let target = String::from_utf8_lossy(target);
        return Err(error(&format!("nobody here is called {target}")));
    };
    if found.0 == me.from {
        return Err(error(&format!("you cannot {} yourself", ask.word())));
    }
    Ok(found)
}

/// `error: usage: ...` for `ask`, given no name, or more words than it
/// takes.
pub(super) fn usage(ask: Ask) -> Line {
    let usage = match ask {
        Ask::Kick => "/kick NAME [REASON]",
        Ask::Ban => "/ban NAME [DURATION] [REASON]",
        Ask::Mute => "/mute NAME [DURATION]",
        Ask::Unmute => "/unmute NAME|ADDRESS",
        Ask::Ignore => "/ignore [NAME]",
        _ => "/unignore NAME",
    };
    error(&format!("usage: {usage}"))
}

/// A duration an operator gave: as the flags take it, more than 0, at
/// most [`LONGEST`].
fn duration_of(text: &[u8]) -> Result<Duration, Line> {
    let text = String::from_utf8_lossy(text);
    match parse_duration(&text) {
        Err(why) => Err(error(&why)),
        Ok(lasts) if lasts.is_zero() => Err(error("a duration must be more than 0")),
        Ok(lasts) if lasts > LONGEST => Err(error("a duration is at most 30 days (720h)")),
        Ok(lasts) => Ok(lasts),
    }
}

/// A duration given, for the log.
fn format_lasts(lasts: Duration) -> String {
    crate::config::format_duration(lasts)
}

/// Sends `line` to everyone; its length, for the room's pacing.
#[inline(never)]
fn broadcast(audience: &mut Audience, line: Line) -> usize {
    let length = line.len();
    audience.broadcast(line);
    length
}

//END

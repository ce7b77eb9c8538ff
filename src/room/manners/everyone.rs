//! The commands of manners for everyone, operator or not: `/ignore`,
//! `/unignore`, `/away`. Each answers its asker alone.

use super::ask::{find, usage, Asker};
use super::{error, Manners};
use crate::command::{split_word, Ask};
use crate::line::{self, text_line, Line};
use crate::room::audience::Audience;

/// `/ignore NAME` and `/unignore NAME`: the answer.
pub(super) fn ignore(
    me: Asker,
    ask: Ask,
    arg: &[u8],
    audience: &Audience,
    manners: &mut Manners,
) -> Line {
    if !split_word(arg).1.is_empty() {
        return usage(ask);
    }
    let (id, name) = match find(me, ask, arg, audience) {
        Ok(found) => found,
        Err(why) => return why,
    };
    let listed = manners.ignores(me.from, id);
    if ask == Ask::Ignore {
        manners.set_ignoring(me.from, id, true);
        return text_line(&["You are ignoring ", &name]);
    }
    if !listed {
        return error(&format!("you are not ignoring {name}"));
    }
    manners.set_ignoring(me.from, id, false);
    text_line(&["You are no longer ignoring ", &name])
}

/// `/ignore` alone: whom `from` ignores, by their names now.
pub(super) fn ignoring(from: u64, audience: &Audience, manners: &Manners) -> Line {
    let names: Vec<&str> = manners
        .get(from)
        .into_iter()
        .flat_map(|person| &person.ignoring)
        .filter_map(|&id| audience.name_of(id))
        .map(|name| &**name)
        .collect();
    if names.is_empty() {
        return text_line(&["You are ignoring nobody"]);
    }
    text_line(&["Ignoring: ", &names.join(", ")])
}

/// `/away [TEXT]`: the answer.
pub(super) fn away(from: u64, text: &[u8], manners: &mut Manners) -> Line {
    manners.person(from).away = Some(text.to_vec());
    manners.keep_person(from);
    match text {
        [] => text_line(&["You are away"]),
        text => line::line(&[b"You are away: ", text]),
    }
}

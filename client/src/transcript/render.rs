//! Turns a played script into snapshot text, and checks the invariants that
//! must hold whatever the script: one greeting, one arrival and one leave
//! per client, one global order, nothing lost or duplicated.

use crate::run::Played;

/// The transcript: every step with what each client received because of
/// it (the global order of events), then each client's whole transcript.
pub fn render(played: &Played) -> String {
    let width = played
        .clients
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let mut per_client: Vec<Vec<String>> = vec![Vec::new(); played.clients.len()];
    for step in &played.steps {
        out.push_str(&step.source);
        out.push('\n');
        for (index, mut lines) in grouped(step).into_iter().enumerate() {
            if step.interleaved {
                // Which client's line the server took first is not the
                // script's to say (`check_order` checks that everyone saw
                // the same order): show each sender's lines together, each
                // sender's in the order they came, senders sorted.
                lines.sort_by(|a, b| first_word(a).cmp(first_word(b)));
            }
            for line in collapse(&lines, step.flood) {
                let name = &played.clients[index].name;
                out.push_str(&format!("  {name:width$} < {line}\n"));
                per_client[index].push(line);
            }
        }
    }
    for (client, lines) in played.clients.iter().zip(per_client) {
        // Which server and transport a client used shows where its
        // transcript starts (and in its `connect` step); a TCP client of
        // the one server, the first kind, is shown as it always was.
        let at = if played.servers > 1 {
            format!(" @{}", client.server)
        } else {
            String::new()
        };
        let via = if client.web { " via web" } else { "" };
        out.push_str(&format!(
            "\n--- {}{at}{via} ({}) ---\n",
            client.name, client.ending
        ));
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// A line's first word, up to a space or a `:`: whose line it is.
fn first_word(line: &str) -> &str {
    line.split([' ', ':']).next().unwrap_or(line)
}

/// A step's lines, per client, in the order each client read them.
fn grouped(step: &crate::run::StepRecord) -> Vec<Vec<String>> {
    let count = step
        .received
        .iter()
        .map(|(index, _)| index + 1)
        .max()
        .unwrap_or(0);
    let mut lines = vec![Vec::new(); count];
    for (index, line) in &step.received {
        lines[*index].push(line.clone());
    }
    lines
}

/// In a flood, how often a line repeats depends on the machine: show a run
/// of equal lines once, marked.
fn collapse(lines: &[String], flood: bool) -> Vec<String> {
    if !flood {
        return lines.to_vec();
    }
    let mut out: Vec<String> = Vec::new();
    let mut previous: Option<&String> = None;
    for line in lines {
        if previous == Some(line) {
            if let Some(last) = out.last_mut() {
                if !last.ends_with(" [repeated]") {
                    last.push_str(" [repeated]");
                }
            }
        } else {
            out.push(line.clone());
        }
        previous = Some(line);
    }
    // A run of one is still a run of the flood: mark it the same way, so the
    // snapshot does not depend on where the victim was cut off.
    let flooded = lines
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| pair[0].clone())
        .collect::<std::collections::HashSet<_>>();
    for line in &mut out {
        if flooded.contains(line.as_str()) && !line.ends_with(" [repeated]") {
            line.push_str(" [repeated]");
        }
    }
    out
}

/// Checks the protocol's invariants on everything every client received.
pub fn check(played: &Played) -> Result<(), String> {
    for client in &played.clients {
        let name = &client.name;
        if client.rejected {
            if client.lines.len() != 1 || !client.lines[0].starts_with("error: ") {
                return Err(format!("{name} was not turned away with one error line"));
            }
            continue;
        }
        let greetings = client
            .lines
            .iter()
            // In names mode `You are an operator`, `You are away` and the
            // like are answers, not greetings: a greeting names the client.
            .filter_map(|l| l.strip_prefix("You are "))
            .filter(|rest| !played.names || client.names.iter().any(|n| n == rest))
            .count();
        if played.names {
            if client.lines.first().map(String::as_str) != Some("What is your name?") {
                return Err(format!("{name} was not asked its name first"));
            }
            if greetings != client.names.len().min(1) {
                return Err(format!("{name} was greeted {greetings} times"));
            }
        } else {
            let greeting = format!("You are {name}");
            if client.lines.first() != Some(&greeting) {
                return Err(format!("{name}'s first line is not {greeting:?}"));
            }
            if greetings != 1 {
                return Err(format!("{name} was greeted more than once"));
            }
        }
        for other in &played.clients {
            // As the others call it: its first name when it arrives, its
            // last when it leaves (book mode: the script's name).
            let (first, last) = match (other.names.first(), other.names.last()) {
                (Some(first), Some(last)) => (first, last),
                _ if played.names => continue,
                _ => (&other.name, &other.name),
            };
            // A name two clients had (one after the other) says nothing.
            let shared = |name: &String| {
                played
                    .clients
                    .iter()
                    .filter(|c| c.names.contains(name))
                    .count()
                    > 1
            };
            let arrived = format!("{first} has arrived");
            let left = format!("{last} has left");
            let arrivals = if shared(first) {
                Vec::new()
            } else {
                positions(&client.lines, &arrived)
            };
            let leaves = if shared(last) {
                Vec::new()
            } else {
                positions(&client.lines, &left)
            };
            if std::ptr::eq(other, client) && !(arrivals.is_empty() && leaves.is_empty()) {
                return Err(format!("{name} saw its own arrival or leave"));
            }
            if arrivals.len() > 1 || leaves.len() > 1 {
                return Err(format!("{name} saw {} arrive or leave twice", other.name));
            }
            if let (Some(a), Some(l)) = (arrivals.first(), leaves.first()) {
                if l < a {
                    return Err(format!("{name} saw {} leave before it arrived", other.name));
                }
            }
        }
        check_messages(played, client)?;
    }
    check_order(played)
}

/// Every sender's lines reach each client in order, without loss or
/// duplicates within the time it was there; the sender gets all of them.
fn check_messages(played: &Played, receiver: &crate::run::ClientRecord) -> Result<(), String> {
    for sender in &played.clients {
        let sent: Vec<&str> = sender.sent.iter().map(String::as_str).collect();
        let got: Vec<&str> = receiver
            .lines
            .iter()
            .map(String::as_str)
            .filter(|line| sent.contains(line))
            .collect();
        let ok = if std::ptr::eq(sender, receiver)
            && !receiver.cut_off
            && receiver.ending == "closed by the server"
        {
            got == sent
        } else {
            got.is_empty()
                || sent
                    .windows(got.len())
                    .any(|window| window == got.as_slice())
        };
        if !ok {
            return Err(format!(
                "{} received {}'s lines out of order, lost or twice: got {got:?}, sent {sent:?}",
                receiver.name, sender.name
            ));
        }
    }
    Ok(())
}

/// Within each step, every client's broadcast lines are in one order: each
/// is a subsequence of the longest. Lines for one client alone (greetings,
/// errors, replies, private lines) are not broadcasts.
fn check_order(played: &Played) -> Result<(), String> {
    for step in &played.steps {
        let lists: Vec<Vec<String>> = grouped(step)
            .into_iter()
            .map(|lines| broadcasts(&lines, &played.motd))
            .collect();
        let longest = lists
            .iter()
            .max_by_key(|l| l.len())
            .cloned()
            .unwrap_or_default();
        for (index, list) in lists.iter().enumerate() {
            let mut rest = longest.iter();
            if !list.iter().all(|line| rest.any(|l| l == line)) {
                return Err(format!(
                    "step {:?}: {} saw another order: {list:?} against {longest:?}",
                    step.source, played.clients[index].name
                ));
            }
        }
    }
    Ok(())
}

/// The broadcasts among a client's lines: not those for it alone, and not
/// the history a newcomer is given (`Recent messages (K):` and K lines).
fn broadcasts(lines: &[String], motd: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut history = 0;
    for line in lines {
        if history > 0 {
            history -= 1;
        } else if let Some(count) = line
            .strip_prefix("Recent messages (")
            .and_then(|rest| rest.strip_suffix("):"))
        {
            history = count.parse().unwrap_or(0);
        } else if !for_one_client(line) && !motd.contains(line) {
            out.push(line.clone());
        }
    }
    out
}

/// Whether `line` goes to one client alone rather than to everyone.
fn for_one_client(line: &str) -> bool {
    const PREFIXES: [&str; 12] = [
        "You are ",
        "Topic: ",
        "No topic is set",
        "Ignoring: ",
        "Unbanned ",
        "Nobody is banned",
        "error: ",
        "What is your name?",
        "Also here: ",
        "Nobody else is here",
        "Here: ",
        "/",
    ];
    PREFIXES.iter().any(|prefix| line.starts_with(prefix))
        || line.ends_with(" is away")
        || line.contains(" is away: ")
        || crate::run::private_ends(line).is_some()
}

fn positions(lines: &[String], wanted: &str) -> Vec<usize> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| *line == wanted)
        .map(|(index, _)| index)
        .collect()
}

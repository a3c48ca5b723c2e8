//! The routing choice: which agent takes a conversation, and why every other agent did not.
//!
//! [`decide`] is a pure function over a snapshot of the candidate agents and the conversation's needs. It
//! explains itself: every candidate comes back with `excluded = None` (eligible) or the first reason it was
//! left out, in this order: not in the conversation's group, not online, off shift, missing a required skill,
//! at capacity. Among the eligible, the customer's last agent wins when sticky routing names one; otherwise the
//! strategy picks (`least_loaded`: fewest active conversations; `round_robin`: the longest since its last
//! assignment), and ties always break the same way (then by last assignment, then by agent id), so the same
//! snapshot gives the same answer every time.
//!
//! The store, not this function, holds the capacity invariant under concurrency: the application turns a
//! decision into a conditional transaction (`active < max_concurrent`, agent online, conversation unchanged).

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::{AgentId, ConversationId, GroupId};

/// An agent's presence as routing sees it: only `online` agents receive conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Available for new conversations.
    Online,
    /// Signed in but not taking new conversations.
    Away,
    /// Not working.
    Offline,
}

impl AgentStatus {
    /// Every status.
    pub const ALL: [AgentStatus; 3] = [AgentStatus::Online, AgentStatus::Away, AgentStatus::Offline];

    /// The status's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Online => "online",
            AgentStatus::Away => "away",
            AgentStatus::Offline => "offline",
        }
    }

    /// The status named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A conversation's priority, from its customer's group. Declared in queue order: `High` sorts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// VIP: served before everyone else.
    High,
    /// The default.
    Normal,
    /// Served last.
    Low,
}

impl Priority {
    /// Every priority, highest first.
    pub const ALL: [Priority; 3] = [Priority::High, Priority::Normal, Priority::Low];

    /// The priority's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }

    /// The priority named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// 1 for high, 2 for normal, 3 for low: the first part of the waiting queue's sort key.
    pub fn rank(self) -> u8 {
        match self {
            Priority::High => 1,
            Priority::Normal => 2,
            Priority::Low => 3,
        }
    }
}

/// How an agent is picked among the eligible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The agent with the fewest active conversations.
    #[default]
    LeastLoaded,
    /// The agent whose last assignment is the oldest (never assigned comes first).
    RoundRobin,
}

impl Strategy {
    /// The strategy's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::LeastLoaded => "least_loaded",
            Strategy::RoundRobin => "round_robin",
        }
    }

    /// The strategy named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        [Strategy::LeastLoaded, Strategy::RoundRobin].into_iter().find(|x| x.as_str() == s)
    }
}

/// Why a candidate was not eligible (API.md `routing.candidates[].excluded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// Not a member of the conversation's group.
    NotInGroup,
    /// Away or offline.
    Offline,
    /// Outside its shift.
    OffShift,
    /// Lacks a skill the conversation needs.
    MissingSkill,
    /// Already at `max_concurrent`.
    AtCapacity,
}

/// One agent as routing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The agent.
    pub agent_id: AgentId,
    /// Its presence.
    pub status: AgentStatus,
    /// Whether its shift schedule is open now (true when it has none).
    pub on_shift: bool,
    /// Its groups.
    pub group_ids: Vec<GroupId>,
    /// Its skills.
    pub skills: Vec<String>,
    /// The most conversations it takes at once.
    pub max_concurrent: u32,
    /// Its open conversations now.
    pub active: u32,
    /// When it last received a conversation.
    pub last_assigned_at: Option<jiff::Timestamp>,
}

impl Candidate {
    /// The first reason the agent cannot take a conversation with these needs, or `None` when it can.
    pub fn exclusion(&self, needs: &Needs) -> Option<Exclusion> {
        if let Some(g) = &needs.group_id
            && !self.group_ids.contains(g)
            && !needs.overflow_group_ids.iter().any(|o| self.group_ids.contains(o))
        {
            return Some(Exclusion::NotInGroup);
        }
        if self.status != AgentStatus::Online {
            return Some(Exclusion::Offline);
        }
        if !self.on_shift {
            return Some(Exclusion::OffShift);
        }
        if !needs.skills.iter().all(|s| self.skills.contains(s)) {
            return Some(Exclusion::MissingSkill);
        }
        if self.active >= self.max_concurrent {
            return Some(Exclusion::AtCapacity);
        }
        None
    }

    /// Whether the agent could take some conversation now (online, on shift, below capacity).
    pub fn has_room(&self) -> bool {
        self.status == AgentStatus::Online && self.on_shift && self.active < self.max_concurrent
    }
}

/// What a conversation needs from its agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// The group it is routed to (its own, else the default group); `None` lets every agent take it.
    pub group_id: Option<GroupId>,
    /// Skills the agent must have, all of them.
    pub skills: Vec<String>,
    /// The agent to prefer when eligible: the returning customer's last agent (sticky routing).
    pub preferred_agent: Option<AgentId>,
    /// Groups it is offered to as well, having waited in its group's queue past their overflow rules
    /// ([`overflow_groups`]); their agents count as in the group.
    pub overflow_group_ids: Vec<GroupId>,
}

impl Needs {
    /// The overflow group through which `c` qualifies, when it is not in the conversation's own group: the
    /// routing record names it (`reason: overflow`).
    pub fn overflow_via(&self, c: &Candidate) -> Option<&GroupId> {
        let g = self.group_id.as_ref()?;
        if c.group_ids.contains(g) {
            return None;
        }
        self.overflow_group_ids.iter().find(|o| c.group_ids.contains(o))
    }
}

/// An overflow rule of the assignment settings: a conversation queued in `from_group_id` for `after_seconds`
/// is offered to `to_group_id` too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverflowRule {
    /// The group whose queue overflows.
    pub from_group_id: GroupId,
    /// The group it overflows to.
    pub to_group_id: GroupId,
    /// How long a conversation waits in the queue first, in seconds.
    pub after_seconds: u32,
}

/// The groups a conversation queued in `group` for `waited` seconds is offered to besides its own, in the
/// order they joined: every rule whose `after_seconds` have passed and whose `from` is `group` or a group
/// already offered. Chains are measured from the moment it was queued (A → B after 30 s, B → C after 60 s:
/// C joins at 60 s), and a cycle back to `group` adds nothing.
pub fn overflow_groups(rules: &[OverflowRule], group: &GroupId, waited: u64) -> Vec<GroupId> {
    let mut out: Vec<GroupId> = Vec::new();
    while let Some(r) = rules.iter().find(|r| {
        u64::from(r.after_seconds) <= waited
            && (&r.from_group_id == group || out.contains(&r.from_group_id))
            && &r.to_group_id != group
            && !out.contains(&r.to_group_id)
    }) {
        out.push(r.to_group_id.clone());
    }
    out
}

/// The next time, in seconds since it was queued, at which a conversation queued in `group` is offered to
/// one more group, when that happens after `waited`; `None` when its offered groups are complete.
pub fn next_overflow(rules: &[OverflowRule], group: &GroupId, waited: u64) -> Option<u64> {
    let now = overflow_groups(rules, group, waited).len();
    let mut times: Vec<u64> = rules.iter().map(|r| u64::from(r.after_seconds)).filter(|s| *s > waited).collect();
    times.sort_unstable();
    times.dedup();
    times.into_iter().find(|s| overflow_groups(rules, group, *s).len() > now)
}

/// One candidate's outcome in a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateOutcome {
    /// The agent.
    pub agent_id: AgentId,
    /// `null` when eligible, else why not.
    pub excluded: Option<Exclusion>,
}

/// A routing decision, stored on the conversation (`routing` in API.md) with each candidate and its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// When it was made.
    pub decided_at: jiff::Timestamp,
    /// The strategy in force.
    pub strategy: Strategy,
    /// The agent chosen, if any.
    pub chosen_agent_id: Option<AgentId>,
    /// Whether the choice was the customer's last agent (sticky routing).
    #[serde(default)]
    pub sticky: bool,
    /// Every candidate, the chosen one first, then the eligible in the strategy's order, then the excluded.
    pub candidates: Vec<CandidateOutcome>,
}

/// The strategy's order over eligible candidates: best first; total and deterministic.
fn better(strategy: Strategy, a: &Candidate, b: &Candidate) -> Ordering {
    let by_last = |x: &Candidate| x.last_assigned_at; // None (never) sorts first
    match strategy {
        Strategy::LeastLoaded => a.active.cmp(&b.active).then_with(|| by_last(a).cmp(&by_last(b))),
        Strategy::RoundRobin => by_last(a).cmp(&by_last(b)).then_with(|| a.active.cmp(&b.active)),
    }
    .then_with(|| a.agent_id.cmp(&b.agent_id))
}

/// Picks the agent for a conversation with `needs` among `candidates`, at `at`.
pub fn decide(strategy: Strategy, candidates: &[Candidate], needs: &Needs, at: jiff::Timestamp) -> Decision {
    let mut eligible: Vec<&Candidate> = Vec::new();
    let mut excluded: Vec<CandidateOutcome> = Vec::new();
    for c in candidates {
        match c.exclusion(needs) {
            None => eligible.push(c),
            reason => excluded.push(CandidateOutcome { agent_id: c.agent_id.clone(), excluded: reason }),
        }
    }
    let sticky = needs.preferred_agent.as_ref().and_then(|p| eligible.iter().position(|c| &c.agent_id == p));
    eligible.sort_unstable_by(|a, b| better(strategy, a, b));
    if let Some(p) = needs.preferred_agent.as_ref().filter(|_| sticky.is_some()) {
        let i = eligible.iter().position(|c| &c.agent_id == p).expect("the sticky agent is eligible");
        let chosen = eligible.remove(i);
        eligible.insert(0, chosen);
    }
    let chosen_agent_id = eligible.first().map(|c| c.agent_id.clone());
    let mut outcomes: Vec<CandidateOutcome> =
        eligible.iter().map(|c| CandidateOutcome { agent_id: c.agent_id.clone(), excluded: None }).collect();
    outcomes.extend(excluded);
    Decision { decided_at: at, strategy, chosen_agent_id, sticky: sticky.is_some(), candidates: outcomes }
}

/// A conversation waiting in the queue. The derived order is the queue's: higher priority first, then the
/// longest waiting, then by id (so the order is total).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Waiting {
    /// Its priority.
    pub priority: Priority,
    /// Since when it has waited.
    pub waiting_since: jiff::Timestamp,
    /// The conversation.
    pub conversation_id: ConversationId,
}

/// Routes waiting conversations in queue order against one snapshot: each choice takes a slot of the chosen
/// agent before the next conversation is considered, so a plan never gives an agent more than its capacity.
/// `waiting` must already be in queue order; answers one decision per conversation, in the same order.
pub fn plan(strategy: Strategy, candidates: &mut [Candidate], waiting: &[Needs], at: jiff::Timestamp) -> Vec<Decision> {
    let mut out = Vec::with_capacity(waiting.len());
    for needs in waiting {
        if !candidates.iter().any(Candidate::has_room) {
            // Nobody can take anything: the rest stay queued, and the decision says why for each agent.
            out.push(decide(strategy, candidates, needs, at));
            continue;
        }
        let d = decide(strategy, candidates, needs, at);
        if let Some(chosen) = &d.chosen_agent_id
            && let Some(c) = candidates.iter_mut().find(|c| &c.agent_id == chosen)
        {
            c.active += 1;
            c.last_assigned_at = Some(at);
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::{Just, any, prop_assert, prop_assert_eq, prop_oneof, proptest};
    use proptest::strategy::Strategy as Arbitrary;

    use super::*;

    fn agent(n: u32) -> AgentId {
        AgentId::parse(&format!("ag_{n:026}")).unwrap()
    }

    fn group(n: u32) -> GroupId {
        GroupId::parse(&format!("gr_{n:026}")).unwrap()
    }

    fn ts(secs: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_790_000_000 + secs).unwrap()
    }

    fn rule(from: u32, to: u32, after_seconds: u32) -> OverflowRule {
        OverflowRule { from_group_id: group(from), to_group_id: group(to), after_seconds }
    }

    #[test]
    fn overflow_offers_the_next_groups_as_the_wait_passes_their_rules() {
        // 1 → 2 after 30 s, 2 → 3 after 60 s, 3 → 1 after 10 s (a cycle back), 4 → 5 after 5 s (another queue).
        let rules = [rule(1, 2, 30), rule(2, 3, 60), rule(3, 1, 10), rule(4, 5, 5)];
        assert!(overflow_groups(&rules, &group(1), 29).is_empty());
        assert_eq!(overflow_groups(&rules, &group(1), 30), vec![group(2)]);
        assert_eq!(overflow_groups(&rules, &group(1), 600), vec![group(2), group(3)], "the cycle adds nothing");
        assert_eq!(next_overflow(&rules, &group(1), 0), Some(30));
        assert_eq!(next_overflow(&rules, &group(1), 30), Some(60));
        assert_eq!(next_overflow(&rules, &group(1), 60), None);
        // A chain is measured from the moment it was queued: 3 joins group 2's queue at 10 s, 1 with it.
        assert_eq!(overflow_groups(&rules, &group(2), 10), Vec::<GroupId>::new());
        assert_eq!(overflow_groups(&rules, &group(2), 60), vec![group(3), group(1)]);
        assert_eq!(next_overflow(&rules, &group(2), 0), Some(60));
        assert!(overflow_groups(&[], &group(1), 1_000).is_empty());
        assert_eq!(next_overflow(&[], &group(1), 0), None);
    }

    #[test]
    fn an_overflow_group_makes_its_agents_eligible_and_is_named() {
        let mut other = online(2, 0, 3);
        other.group_ids = vec![group(2)];
        let own_full = online(1, 3, 3);
        let mut needs = Needs { group_id: Some(group(1)), skills: vec!["zh".into()], ..Needs::default() };
        let cands = [own_full.clone(), other.clone()];
        let d = decide(Strategy::LeastLoaded, &cands, &needs, ts(0));
        assert_eq!(d.chosen_agent_id, None, "group 2 is not offered yet");
        needs.overflow_group_ids = vec![group(2)];
        let d = decide(Strategy::LeastLoaded, &cands, &needs, ts(0));
        assert_eq!(d.chosen_agent_id, Some(agent(2)));
        assert_eq!(needs.overflow_via(&other), Some(&group(2)));
        assert_eq!(needs.overflow_via(&own_full), None, "its own group's agent needs no overflow");
        assert_eq!(d.candidates[1].excluded, Some(Exclusion::AtCapacity));
    }

    fn online(n: u32, active: u32, max: u32) -> Candidate {
        Candidate {
            agent_id: agent(n),
            status: AgentStatus::Online,
            on_shift: true,
            group_ids: vec![group(1)],
            skills: vec!["zh".into()],
            max_concurrent: max,
            active,
            last_assigned_at: None,
        }
    }

    #[test]
    fn every_candidate_is_explained() {
        let mut away = online(2, 0, 3);
        away.status = AgentStatus::Away;
        let mut off_shift = online(3, 0, 3);
        off_shift.on_shift = false;
        let mut other_group = online(4, 0, 3);
        other_group.group_ids = vec![group(2)];
        let mut no_skill = online(5, 0, 3);
        no_skill.skills.clear();
        let full = online(6, 3, 3);
        let cands = [online(1, 1, 3), away, off_shift, other_group, no_skill, full, online(7, 0, 3)];
        let needs = Needs { group_id: Some(group(1)), skills: vec!["zh".into()], ..Needs::default() };
        let d = decide(Strategy::LeastLoaded, &cands, &needs, ts(0));
        assert_eq!(d.chosen_agent_id, Some(agent(7)), "the least loaded");
        let reason = |n| d.candidates.iter().find(|c| c.agent_id == agent(n)).unwrap().excluded;
        assert_eq!(reason(1), None);
        assert_eq!(reason(2), Some(Exclusion::Offline));
        assert_eq!(reason(3), Some(Exclusion::OffShift));
        assert_eq!(reason(4), Some(Exclusion::NotInGroup));
        assert_eq!(reason(5), Some(Exclusion::MissingSkill));
        assert_eq!(reason(6), Some(Exclusion::AtCapacity));
        assert_eq!(d.candidates.len(), 7);
        assert_eq!(d.candidates[0].agent_id, agent(7), "the chosen agent comes first");
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["strategy"], "least_loaded");
        assert_eq!(json["candidates"][6]["excluded"], "at_capacity");
        assert_eq!(json["candidates"][0]["excluded"], serde_json::Value::Null);
    }

    #[test]
    fn round_robin_takes_the_longest_idle_and_sticky_wins_when_eligible() {
        let mut a = online(1, 0, 3);
        a.last_assigned_at = Some(ts(10));
        let mut b = online(2, 2, 3);
        b.last_assigned_at = Some(ts(5));
        let c = online(3, 2, 3);
        let needs = Needs::default();
        assert_eq!(
            decide(Strategy::RoundRobin, &[a.clone(), b.clone(), c.clone()], &needs, ts(20)).chosen_agent_id,
            Some(agent(3))
        );
        assert_eq!(
            decide(Strategy::RoundRobin, &[a.clone(), b.clone()], &needs, ts(20)).chosen_agent_id,
            Some(agent(2))
        );
        assert_eq!(
            decide(Strategy::LeastLoaded, &[a.clone(), b.clone()], &needs, ts(20)).chosen_agent_id,
            Some(agent(1))
        );
        let sticky = Needs { preferred_agent: Some(agent(2)), ..Needs::default() };
        let d = decide(Strategy::LeastLoaded, &[a.clone(), b.clone()], &sticky, ts(20));
        assert_eq!((d.chosen_agent_id, d.sticky), (Some(agent(2)), true));
        b.active = 3;
        let d = decide(Strategy::LeastLoaded, &[a, b], &sticky, ts(20));
        assert_eq!((d.chosen_agent_id, d.sticky), (Some(agent(1)), false), "a full last agent is not waited for");
    }

    #[test]
    fn nobody_eligible_means_nobody_chosen() {
        let d = decide(Strategy::LeastLoaded, &[online(1, 2, 2)], &Needs::default(), ts(0));
        assert_eq!(d.chosen_agent_id, None);
        assert_eq!(decide(Strategy::RoundRobin, &[], &Needs::default(), ts(0)).chosen_agent_id, None);
    }

    #[test]
    fn the_queue_orders_by_priority_then_waiting_time() {
        let w = |p, s, n: u32| Waiting {
            priority: p,
            waiting_since: ts(s),
            conversation_id: ConversationId::parse(&format!("cv_{n:026}")).unwrap(),
        };
        let mut q =
            [w(Priority::Normal, 1, 1), w(Priority::Low, 0, 2), w(Priority::High, 9, 3), w(Priority::Normal, 0, 4)];
        q.sort();
        let order: Vec<_> =
            q.iter().map(|x| x.conversation_id.as_str()[3..].trim_start_matches('0').to_owned()).collect();
        assert_eq!(order, ["3", "4", "1", "2"]);
    }

    #[test]
    fn a_plan_never_overfills() {
        let mut cands = vec![online(1, 0, 2), online(2, 1, 2)];
        let waiting = vec![Needs::default(); 5];
        let ds = plan(Strategy::LeastLoaded, &mut cands, &waiting, ts(0));
        let chosen: Vec<_> = ds.iter().map(|d| d.chosen_agent_id.clone()).collect();
        assert_eq!(chosen, [Some(agent(1)), Some(agent(2)), Some(agent(1)), None, None], "ties go to the longest idle");
        assert!(cands.iter().all(|c| c.active == 2));
    }

    fn arb_candidate() -> impl Arbitrary<Value = Candidate> {
        (
            0u32..40,
            prop_oneof![Just(AgentStatus::Online), Just(AgentStatus::Away), Just(AgentStatus::Offline)],
            any::<bool>(),
            proptest::collection::vec(0u32..4, 0..3),
            proptest::collection::vec(prop_oneof![Just("zh"), Just("en"), Just("billing")], 0..3),
            0u32..4,
            0u32..5,
            proptest::option::of(0i64..100),
        )
            .prop_map(|(n, status, on_shift, groups, skills, max, active, last)| Candidate {
                agent_id: agent(n),
                status,
                on_shift,
                group_ids: groups.into_iter().map(group).collect(),
                skills: skills.into_iter().map(str::to_owned).collect(),
                max_concurrent: max,
                active,
                last_assigned_at: last.map(ts),
            })
    }

    fn arb_needs() -> impl Arbitrary<Value = Needs> {
        (
            proptest::option::of(0u32..4),
            proptest::collection::vec(prop_oneof![Just("zh"), Just("en"), Just("billing")], 0..2),
            proptest::option::of(0u32..40),
        )
            .prop_map(|(g, skills, pref)| Needs {
                group_id: g.map(group),
                skills: skills.into_iter().map(str::to_owned).collect(),
                preferred_agent: pref.map(agent),
                overflow_group_ids: Vec::new(),
            })
    }

    proptest! {
        #[test]
        fn the_chosen_agent_is_eligible_and_the_best(
            cands in proptest::collection::vec(arb_candidate(), 0..30),
            needs in arb_needs(),
            rr in any::<bool>(),
        ) {
            // Agent ids are unique in a tenant.
            let mut seen = std::collections::HashSet::new();
            let cands: Vec<Candidate> = cands.into_iter().filter(|c| seen.insert(c.agent_id.clone())).collect();
            let strategy = if rr { Strategy::RoundRobin } else { Strategy::LeastLoaded };
            let d = decide(strategy, &cands, &needs, ts(200));
            prop_assert_eq!(d.candidates.len(), cands.len());
            let eligible: Vec<&Candidate> = cands.iter().filter(|c| c.exclusion(&needs).is_none()).collect();
            match &d.chosen_agent_id {
                None => prop_assert!(eligible.is_empty()),
                Some(id) => {
                    let c = cands.iter().find(|c| &c.agent_id == id).unwrap();
                    prop_assert_eq!(c.status, AgentStatus::Online);
                    prop_assert!(c.on_shift);
                    prop_assert!(c.active < c.max_concurrent);
                    if let Some(g) = &needs.group_id { prop_assert!(c.group_ids.contains(g)); }
                    prop_assert!(needs.skills.iter().all(|s| c.skills.contains(s)));
                    let outcome = d.candidates.iter().find(|o| &o.agent_id == id).unwrap();
                    prop_assert_eq!(outcome.excluded, None);
                    let sticky_ok = needs.preferred_agent.as_ref().is_some_and(|p| eligible.iter().any(|e| &e.agent_id == p));
                    if sticky_ok {
                        prop_assert_eq!(Some(id), needs.preferred_agent.as_ref());
                    } else if strategy == Strategy::LeastLoaded {
                        prop_assert!(eligible.iter().all(|e| e.active >= c.active), "least loaded picks a minimal load");
                    } else {
                        prop_assert!(eligible.iter().all(|e| e.last_assigned_at >= c.last_assigned_at));
                    }
                }
            }
            for o in &d.candidates {
                let c = cands.iter().find(|c| c.agent_id == o.agent_id).unwrap();
                prop_assert_eq!(o.excluded, c.exclusion(&needs));
            }
            // Deterministic: the same snapshot in another order gives the same choice.
            let mut reversed = cands.clone();
            reversed.reverse();
            prop_assert_eq!(decide(strategy, &reversed, &needs, ts(200)).chosen_agent_id, d.chosen_agent_id);
        }

        #[test]
        fn plans_respect_capacity(
            cands in proptest::collection::vec(arb_candidate(), 0..12),
            waiting in proptest::collection::vec(arb_needs(), 0..20),
        ) {
            let mut seen = std::collections::HashSet::new();
            let before: Vec<Candidate> = cands.into_iter().filter(|c| seen.insert(c.agent_id.clone())).collect();
            let mut after = before.clone();
            let ds = plan(Strategy::LeastLoaded, &mut after, &waiting, ts(0));
            prop_assert_eq!(ds.len(), waiting.len());
            for (b, a) in before.iter().zip(&after) {
                let given = ds.iter().filter(|d| d.chosen_agent_id.as_ref() == Some(&b.agent_id)).count() as u32;
                prop_assert_eq!(a.active, b.active + given);
                if given > 0 {
                    prop_assert!(a.active <= a.max_concurrent, "never over capacity");
                }
            }
        }
    }
}

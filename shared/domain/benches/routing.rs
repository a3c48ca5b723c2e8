//! CPU per routing decision among 1,000 online agents in 20 groups (issue 3 budget: under 200 µs), and the
//! working-hours check that runs once per agent with a shift. See README.md for the numbers.

#![allow(missing_docs)] // criterion_group! defines a public function that cannot carry a doc comment

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use kefu_domain::routing::{AgentStatus, Candidate, Needs, Strategy, decide, plan};
use kefu_domain::schedule::{Schedule, ScheduleInput};
use kefu_domain::{AgentId, GroupId};

fn agents(n: u32, groups: u32) -> Vec<Candidate> {
    (0..n)
        .map(|i| Candidate {
            agent_id: AgentId::parse(&format!("ag_{i:026}")).unwrap(),
            status: AgentStatus::Online,
            on_shift: i % 10 != 0,
            group_ids: vec![
                GroupId::parse(&format!("gr_{:026}", i % groups)).unwrap(),
                GroupId::parse(&format!("gr_{:026}", (i / 7) % groups)).unwrap(),
            ],
            skills: if i % 3 == 0 { vec!["zh".into(), "billing".into()] } else { vec!["en".into()] },
            max_concurrent: 5,
            active: i % 6,
            last_assigned_at: Some(jiff::Timestamp::from_second(1_790_000_000 + i64::from(i % 97)).unwrap()),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let at = jiff::Timestamp::from_second(1_790_000_500).unwrap();
    let cands = agents(1000, 20);
    let in_group = Needs { group_id: Some(GroupId::parse(&format!("gr_{:026}", 7)).unwrap()), ..Needs::default() };
    let with_skill = Needs {
        skills: vec!["billing".into()],
        preferred_agent: Some(cands[501].agent_id.clone()),
        ..in_group.clone()
    };
    c.bench_function("decide/least_loaded/1000 agents, 20 groups", |b| {
        b.iter(|| decide(Strategy::LeastLoaded, black_box(&cands), black_box(&in_group), at))
    });
    c.bench_function("decide/round_robin/1000 agents, 20 groups", |b| {
        b.iter(|| decide(Strategy::RoundRobin, black_box(&cands), black_box(&in_group), at))
    });
    c.bench_function("decide/least_loaded/1000 agents, group + skill + sticky", |b| {
        b.iter(|| decide(Strategy::LeastLoaded, black_box(&cands), black_box(&with_skill), at))
    });
    c.bench_function("decide/least_loaded/1000 agents, no group", |b| {
        b.iter(|| decide(Strategy::LeastLoaded, black_box(&cands), black_box(&Needs::default()), at))
    });
    let waiting = vec![in_group.clone(); 50];
    c.bench_function("plan/50 queued conversations, 1000 agents", |b| {
        b.iter(|| {
            let mut cs = cands.clone();
            plan(Strategy::LeastLoaded, &mut cs, black_box(&waiting), at)
        })
    });
    let shift: ScheduleInput = serde_json::from_value(serde_json::json!({
        "name": "Shift", "timezone": "Asia/Shanghai",
        "weekly": {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "tue": [["22:00", "06:00"]]},
        "holidays": ["2026-10-01"], "overrides": [{"date": "2026-10-08", "hours": [["10:00", "16:00"]]}]
    }))
    .unwrap();
    let shift = Schedule::parse(&shift).unwrap();
    c.bench_function("schedule/is_open", |b| b.iter(|| shift.is_open(black_box(at))));
}

criterion_group!(benches, bench);
criterion_main!(benches);

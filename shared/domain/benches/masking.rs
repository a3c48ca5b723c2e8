//! Throughput of `mask_text`, the masking every transcript read by an agent without
//! `customers.view_sensitive` goes through. Budget and measured numbers: `benches/README.md`.
//!
//! Run: `cargo bench -p kefu-domain --bench masking`.

#![allow(missing_docs)] // criterion_group! defines a public function that cannot carry a doc comment

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kefu_domain::masking::mask_text;

/// A visitor's message with nothing to mask (Chinese, with an order number and a price).
const PLAIN_MESSAGE: &str = "您好，我上周在你们店里买了一个蓝色的电热水壶，订单号 48213，付了 ¥199.00，到现在还没有收到货，\
     物流信息一直显示在杭州中转站。能帮我查一下吗？Thanks, I need it before Friday.";

/// The same kind of message carrying a mobile number, an email address and a card number.
const PII_MESSAGE: &str = "您好，我叫张三，手机 13812345678，邮箱 zhang.san@example.com。上周用卡 6222 0212 3456 7894 \
     付了 ¥199.00 买电热水壶，订单号 48213，到现在还没有收到货，麻烦尽快处理，谢谢！";

/// The same personal data as a visitor typing with a Chinese input method writes it, or disguises it: full-width
/// digits and signs, an ideographic space, zero-width characters, a number split by dots, a landline.
const DISGUISED_MESSAGE: &str = "您好，我叫张三，手机 １３８\u{200B}１２３４\u{200B}５６７８，邮箱 ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ。\
     上周用卡 6222.0212.3456.7894 付了 ¥199.00，座机（０２１）１２３４５６７８，订单号 48213，麻烦尽快处理，谢谢！";

/// About 1 MiB of chat transcript: `every`-th message carries personal data (`pii`), the rest is plain.
fn transcript(every: usize, pii: &str) -> String {
    let mut s = String::with_capacity(1 << 20);
    let mut i = 0;
    while s.len() < 1 << 20 {
        s.push_str(if every > 0 && i % every == 0 { pii } else { PLAIN_MESSAGE });
        s.push('\n');
        i += 1;
    }
    s
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("mask_text");
    g.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(30);
    let inputs = [
        ("message_plain", PLAIN_MESSAGE.to_owned()),
        ("message_pii", PII_MESSAGE.to_owned()),
        ("message_disguised", DISGUISED_MESSAGE.to_owned()),
        ("1mib_plain", transcript(0, PII_MESSAGE)),
        ("1mib_pii_every_10th", transcript(10, PII_MESSAGE)),
        ("1mib_pii_every_message", transcript(1, PII_MESSAGE)),
        ("1mib_disguised_every_message", transcript(1, DISGUISED_MESSAGE)),
    ];
    for (name, text) in &inputs {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(*name, |b| b.iter(|| mask_text(black_box(text)).len()));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Storefront analytics, the pure part: who a visitor is (without cookies or stored IPs),
//! what kind of device and whether a bot sent an event, a HyperLogLog sketch to count
//! unique visitors across buckets, and the rollup of raw events into per-minute, hourly
//! and daily counts. No I/O, no clock: callers pass `now`.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Pageview,
    Click,
    Hold,
    Checkout,
    Purchase,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pageview => "pageview",
            Kind::Click => "click",
            Kind::Hold => "hold",
            Kind::Checkout => "checkout",
            Kind::Purchase => "purchase",
        }
    }
}

/// The dimensions whose top values are kept per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dim {
    Page,
    Referrer,
    Campaign,
    Device,
    Country,
}

impl Dim {
    pub const ALL: [Dim; 5] = [
        Dim::Page,
        Dim::Referrer,
        Dim::Campaign,
        Dim::Device,
        Dim::Country,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dim::Page => "page",
            Dim::Referrer => "referrer",
            Dim::Campaign => "campaign",
            Dim::Device => "device",
            Dim::Country => "country",
        }
    }

    pub fn parse(s: &str) -> Option<Dim> {
        Dim::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// One event, as stored (no IP, no user agent, no account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: NaiveDateTime,
    pub kind: Kind,
    /// 0 for events the server records itself (they belong to no page visit).
    pub visitor: u64,
    pub path: String,
    /// The referring host ('' for none or the storefront itself).
    pub referrer: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub device: &'static str,
    pub country: String,
    pub bot: bool,
    pub amount_cents: i64,
    /// The drop of a hold, the order of a checkout or purchase.
    pub ref_id: String,
    /// How many events of this kind this one stands for (1, except for a drop's holds,
    /// which are recorded as one event per drop and minute between two hand-overs: see
    /// [`merge_holds`]).
    pub count: i64,
}

impl Event {
    /// An event the server records itself: no visitor, no page.
    pub fn server(kind: Kind, at: NaiveDateTime, amount_cents: i64, ref_id: String) -> Event {
        Event {
            at,
            kind,
            visitor: 0,
            path: String::new(),
            referrer: String::new(),
            utm_source: String::new(),
            utm_medium: String::new(),
            utm_campaign: String::new(),
            device: "",
            country: String::new(),
            bot: false,
            amount_cents,
            ref_id,
            count: 1,
        }
    }
}

/// Merge the server-recorded holds of one source (a drop) within one minute into one event
/// that counts them all, keeping every other event as it is and the order of first
/// appearance. A hot drop records thousands of holds a second; the rollups count by the
/// minute, so merged they add up to the same figures with one row instead of thousands.
pub fn merge_holds<K: Copy + Eq + std::hash::Hash>(events: Vec<(K, Event)>) -> Vec<(K, Event)> {
    let mut out: Vec<(K, Event)> = Vec::with_capacity(events.len());
    let mut slot: std::collections::HashMap<(K, NaiveDateTime), usize> =
        std::collections::HashMap::new();
    for (k, e) in events {
        if e.kind != Kind::Hold || e.visitor != 0 || e.bot {
            out.push((k, e));
            continue;
        }
        let minute = Grain::Minute.bucket(e.at);
        match slot.get(&(k, minute)) {
            Some(&i) => {
                let m = &mut out[i].1;
                m.count += e.count;
                m.amount_cents += e.amount_cents;
                m.at = m.at.max(e.at);
            }
            None => {
                slot.insert((k, minute), out.len());
                out.push((k, e));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Visitors.

/// The visitor id: SHA-256 over the day's salt, the IP, the user agent and the storefront,
/// cut to 63 bits (it is stored in a signed BIGINT) and never 0 (0 means "no visitor").
/// The same person on the same day and site gets the same id; the next day's salt gives
/// them a new one, and another site a different one, so no one can be followed across
/// days or sites. The fields are length-prefixed so no two inputs run together.
pub fn visitor_id(salt: &[u8], ip: &str, user_agent: &str, storefront: &str) -> u64 {
    let mut h = Sha256::new();
    for part in [
        salt,
        ip.as_bytes(),
        user_agent.as_bytes(),
        storefront.as_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(b) >> 1).max(1)
}

/// Substrings of user agents that announce automated clients (lowercase). From the
/// common crawler lists; a catch-all for "bot", "crawl", "spider" does most of the work.
const BOT_MARKERS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "slurp",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "httpx",
    "go-http-client",
    "java/",
    "okhttp",
    "libwww",
    "httpclient",
    "headlesschrome",
    "phantomjs",
    "facebookexternalhit",
    "preview",
    "monitor",
    "lighthouse",
    "pingdom",
    "scrapy",
];

/// Whether a user agent is a bot's: empty, or naming itself as one.
pub fn is_bot_agent(user_agent: &str) -> bool {
    let ua = user_agent.trim().to_ascii_lowercase();
    ua.is_empty() || BOT_MARKERS.iter().any(|m| ua.contains(m))
}

/// The device class of a user agent: `bot`, `tablet`, `mobile` or `desktop`.
pub fn device_class(user_agent: &str) -> &'static str {
    if is_bot_agent(user_agent) {
        return "bot";
    }
    let ua = user_agent.to_ascii_lowercase();
    if ua.contains("ipad")
        || ua.contains("tablet")
        || (ua.contains("android") && !ua.contains("mobile"))
    {
        "tablet"
    } else if ua.contains("mobi") || ua.contains("iphone") || ua.contains("android") {
        "mobile"
    } else {
        "desktop"
    }
}

/// The host of a referrer URL, lowercase and without `www.`; '' for none, for anything
/// that is not an http(s) URL, and for `own_host` (moving inside the site is not a
/// referral).
pub fn referrer_host(referrer: &str, own_host: &str) -> String {
    let r = referrer.trim();
    let rest = match r.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            rest
        }
        _ => return String::new(),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if host_port.starts_with('[') {
        host_port
            .split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or("").to_string()
    };
    let host = host.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    let own = own_host
        .split(':')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let own = own.strip_prefix("www.").unwrap_or(&own);
    if host.is_empty()
        || host == own
        || host.len() > 253
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'))
    {
        return String::new();
    }
    host
}

/// A page path as counted: without query or fragment (UTM tags travel separately), at
/// most 200 bytes. `None` unless it starts with `/`.
pub fn clean_path(path: &str) -> Option<String> {
    if !path.starts_with('/') || path.chars().any(char::is_control) {
        return None;
    }
    let p = path.split(['?', '#']).next().unwrap_or("/");
    let mut end = p.len().min(200);
    while !p.is_char_boundary(end) {
        end -= 1;
    }
    Some(p[..end].to_string())
}

// ---------------------------------------------------------------------------------------
// Unique counting.

/// Registers of the sketch: 2^10. The standard error is 1.04/√1024 ≈ 3.3 %, and below
/// about 2,500 visitors linear counting makes it near exact, which is where most
/// storefront buckets are. 1 KiB per stored bucket.
pub const SKETCH_BITS: u32 = 10;
pub const SKETCH_LEN: usize = 1 << SKETCH_BITS;

/// A HyperLogLog sketch (Flajolet et al. 2007) over visitor ids, which are already
/// uniform hashes. Sketches merge by taking each register's maximum, so the visitors of
/// a day are the merge of its hours, whichever node counted them.
#[derive(Clone, PartialEq, Eq)]
pub struct Sketch {
    registers: Vec<u8>,
}

impl Default for Sketch {
    fn default() -> Self {
        Sketch {
            registers: vec![0; SKETCH_LEN],
        }
    }
}

impl std::fmt::Debug for Sketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sketch(~{})", self.estimate())
    }
}

impl Sketch {
    /// A sketch read from the store; anything of the wrong length reads as empty.
    pub fn from_bytes(bytes: &[u8]) -> Sketch {
        if bytes.len() == SKETCH_LEN {
            Sketch {
                registers: bytes.to_vec(),
            }
        } else {
            Sketch::default()
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.registers
    }

    pub fn is_empty(&self) -> bool {
        self.registers.iter().all(|&r| r == 0)
    }

    /// Count a visitor id (a 63-bit hash; 0 is ignored).
    pub fn insert(&mut self, visitor: u64) {
        if visitor == 0 {
            return;
        }
        // The low bits pick the register, the rest give the rank; ids use 63 bits.
        let index = (visitor & (SKETCH_LEN as u64 - 1)) as usize;
        let rest = visitor >> SKETCH_BITS;
        let width = 63 - SKETCH_BITS;
        let rank = (rest.trailing_zeros().min(width) + 1) as u8;
        if let Some(r) = self.registers.get_mut(index) {
            *r = (*r).max(rank);
        }
    }

    pub fn merge(&mut self, other: &Sketch) {
        for (a, b) in self.registers.iter_mut().zip(&other.registers) {
            *a = (*a).max(*b);
        }
    }

    /// The estimated number of distinct visitors.
    pub fn estimate(&self) -> i64 {
        let m = SKETCH_LEN as f64;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        if zeros == SKETCH_LEN {
            return 0;
        }
        let sum: f64 = self
            .registers
            .iter()
            .map(|&r| 2f64.powi(-i32::from(r)))
            .sum();
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        let e = if raw <= 2.5 * m && zeros > 0 {
            // Linear counting: exact in expectation for small numbers.
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        e.round() as i64
    }
}

// ---------------------------------------------------------------------------------------
// Rollups.

/// The additive counts of a bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub pageviews: i64,
    pub clicks: i64,
    /// Events from bots (counted apart, in no other figure).
    pub bots: i64,
    pub holds: i64,
    pub checkouts: i64,
    pub purchases: i64,
    pub revenue_cents: i64,
}

impl Counts {
    /// Count one event.
    pub fn add_event(&mut self, e: &Event) {
        let n = e.count;
        if e.bot {
            self.bots += n;
            return;
        }
        match e.kind {
            Kind::Pageview => self.pageviews += n,
            Kind::Click => self.clicks += n,
            Kind::Hold => self.holds += n,
            Kind::Checkout => self.checkouts += n,
            Kind::Purchase => {
                self.purchases += n;
                self.revenue_cents += e.amount_cents;
            }
        }
    }

    pub fn add(&mut self, o: &Counts) {
        self.pageviews += o.pageviews;
        self.clicks += o.clicks;
        self.bots += o.bots;
        self.holds += o.holds;
        self.checkouts += o.checkouts;
        self.purchases += o.purchases;
        self.revenue_cents += o.revenue_cents;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Grain {
    Minute,
    Hour,
    Day,
}

impl Grain {
    pub const ALL: [Grain; 3] = [Grain::Minute, Grain::Hour, Grain::Day];

    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Minute => "minute",
            Grain::Hour => "hour",
            Grain::Day => "day",
        }
    }

    /// The start of the bucket holding `t`.
    pub fn bucket(self, t: NaiveDateTime) -> NaiveDateTime {
        let minute = t
            .with_second(0)
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(t);
        match self {
            Grain::Minute => minute,
            Grain::Hour => minute.with_minute(0).unwrap_or(minute),
            Grain::Day => day_start(t.date()),
        }
    }
}

pub fn day_start(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).unwrap_or_default()
}

/// One bucket's rollup: counts plus the sketch of its (human) visitors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup {
    pub counts: Counts,
    pub sketch: Sketch,
}

impl Rollup {
    pub fn add_event(&mut self, e: &Event) {
        self.counts.add_event(e);
        if !e.bot {
            self.sketch.insert(e.visitor);
        }
    }
}

/// The rollups and top-value hits of a batch of raw events: what one flush adds to the
/// store. Bots count in `bots` and nowhere else; top values count human page views
/// (pages, referrers, campaigns, devices, countries).
#[derive(Debug, Default)]
pub struct BatchRollup {
    pub buckets: BTreeMap<(Grain, NaiveDateTime), Rollup>,
    pub tops: BTreeMap<(NaiveDateTime, Dim, String), i64>,
}

impl BatchRollup {
    pub fn of(events: &[Event]) -> BatchRollup {
        let mut out = BatchRollup::default();
        for e in events {
            for g in Grain::ALL {
                out.buckets
                    .entry((g, g.bucket(e.at)))
                    .or_default()
                    .add_event(e);
            }
            for (dim, value) in top_values(e) {
                *out.tops
                    .entry((Grain::Day.bucket(e.at), dim, value.to_string()))
                    .or_default() += 1;
            }
        }
        out
    }
}

/// The top-list values an event counts for: human page views only; empty values skipped.
pub fn top_values(e: &Event) -> Vec<(Dim, &str)> {
    if e.bot || e.kind != Kind::Pageview {
        return Vec::new();
    }
    [
        (Dim::Page, e.path.as_str()),
        (Dim::Referrer, e.referrer.as_str()),
        (Dim::Campaign, e.utm_campaign.as_str()),
        (Dim::Device, e.device),
        (Dim::Country, e.country.as_str()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 29)
            .and_then(|d| d.and_hms_opt(h, m, s))
            .unwrap()
    }

    fn ev(kind: Kind, visitor: u64, t: NaiveDateTime) -> Event {
        Event {
            at: t,
            kind,
            visitor,
            path: "/s/shop".into(),
            referrer: "news.example".into(),
            utm_source: String::new(),
            utm_medium: String::new(),
            utm_campaign: "launch".into(),
            device: "desktop",
            country: String::new(),
            bot: false,
            amount_cents: if kind == Kind::Purchase { 2500 } else { 0 },
            ref_id: String::new(),
            count: 1,
        }
    }

    #[test]
    fn a_visitor_is_the_same_within_a_day_and_site_and_new_otherwise() {
        let a = visitor_id(b"salt-1", "203.0.113.9", "Firefox", "sf-1");
        assert_eq!(a, visitor_id(b"salt-1", "203.0.113.9", "Firefox", "sf-1"));
        assert_ne!(a, visitor_id(b"salt-2", "203.0.113.9", "Firefox", "sf-1"));
        assert_ne!(a, visitor_id(b"salt-1", "203.0.113.9", "Firefox", "sf-2"));
        assert_ne!(a, visitor_id(b"salt-1", "203.0.113.10", "Firefox", "sf-1"));
        assert_ne!(a, visitor_id(b"salt-1", "203.0.113.9", "Chrome", "sf-1"));
        // Fields cannot run into each other.
        assert_ne!(
            visitor_id(b"s", "1.2.3.4", "ab", "c"),
            visitor_id(b"s", "1.2.3.4", "a", "bc")
        );
        assert!(a > 0 && a < 1 << 63);
    }

    #[test]
    fn bots_and_devices_are_told_from_the_user_agent() {
        assert!(is_bot_agent(""));
        assert!(is_bot_agent("Mozilla/5.0 (compatible; Googlebot/2.1)"));
        assert!(is_bot_agent("curl/8.5.0"));
        assert!(is_bot_agent("Mozilla/5.0 HeadlessChrome/120.0"));
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148";
        assert!(!is_bot_agent(iphone));
        assert_eq!(device_class(iphone), "mobile");
        assert_eq!(device_class("Mozilla/5.0 (iPad; CPU OS 17_0)"), "tablet");
        assert_eq!(
            device_class("Mozilla/5.0 (Linux; Android 14; SM-X200)"),
            "tablet"
        );
        assert_eq!(
            device_class("Mozilla/5.0 (Linux; Android 14) Mobile Safari"),
            "mobile"
        );
        assert_eq!(
            device_class("Mozilla/5.0 (X11; Linux x86_64) Firefox/120"),
            "desktop"
        );
        assert_eq!(device_class("Googlebot"), "bot");
    }

    #[test]
    fn referrers_are_hosts_and_the_site_itself_is_none() {
        assert_eq!(
            referrer_host("https://www.News.example/a?b", "shop.test"),
            "news.example"
        );
        assert_eq!(
            referrer_host("http://user@host.example:8080/x", "shop.test"),
            "host.example"
        );
        assert_eq!(referrer_host("https://shop.test/s/x", "shop.test:8080"), "");
        assert_eq!(referrer_host("javascript:alert(1)", "shop.test"), "");
        assert_eq!(referrer_host("", "shop.test"), "");
        assert_eq!(referrer_host("https://bad host/", "shop.test"), "");
    }

    #[test]
    fn paths_lose_their_query_and_must_be_absolute() {
        assert_eq!(
            clean_path("/s/shop?utm_source=x#top").as_deref(),
            Some("/s/shop")
        );
        assert_eq!(clean_path("s/shop"), None);
        assert_eq!(clean_path("/a\nb"), None);
        let long = format!("/{}", "é".repeat(300));
        let p = clean_path(&long).unwrap();
        assert!(p.len() <= 200 && long.starts_with(&p));
    }

    #[test]
    fn the_sketch_counts_small_sets_exactly_and_large_ones_closely() {
        let mut s = Sketch::default();
        assert_eq!(s.estimate(), 0);
        for _ in 0..5 {
            s.insert(visitor_id(b"x", "1", "ua", "sf"));
        }
        assert_eq!(s.estimate(), 1);
        s.insert(visitor_id(b"x", "2", "ua", "sf"));
        assert_eq!(s.estimate(), 2);

        for n in [100u64, 1_000, 20_000, 200_000] {
            let mut a = Sketch::default();
            let mut b = Sketch::default();
            for i in 0..n {
                let v = visitor_id(b"salt", &i.to_string(), "ua", "sf");
                // Half in each, a quarter in both: the merge counts the union once.
                if i % 4 != 0 {
                    a.insert(v);
                }
                if i % 4 != 1 {
                    b.insert(v);
                }
            }
            a.merge(&b);
            let e = a.estimate() as f64;
            // 4 standard errors of a 1024-register sketch.
            let tolerance = 4.0 * 1.04 / (SKETCH_LEN as f64).sqrt();
            assert!(
                (e - n as f64).abs() <= tolerance * n as f64,
                "{n} visitors estimated as {e}"
            );
            assert_eq!(Sketch::from_bytes(a.as_bytes()), a);
        }
        assert!(Sketch::from_bytes(&[1, 2, 3]).is_empty());
    }

    #[test]
    fn a_batch_rolls_up_into_minutes_hours_and_days_with_bots_apart() {
        let mut bot = ev(Kind::Pageview, 9, at(10, 1, 0));
        bot.bot = true;
        let events = vec![
            ev(Kind::Pageview, 1, at(10, 0, 5)),
            ev(Kind::Pageview, 1, at(10, 0, 50)),
            ev(Kind::Pageview, 2, at(10, 1, 0)),
            ev(Kind::Click, 2, at(10, 1, 1)),
            ev(Kind::Hold, 0, at(10, 1, 2)),
            ev(Kind::Checkout, 0, at(10, 1, 3)),
            ev(Kind::Purchase, 0, at(11, 0, 0)),
            bot,
        ];
        let r = BatchRollup::of(&events);
        let day = &r.buckets[&(Grain::Day, at(0, 0, 0))];
        assert_eq!(
            day.counts,
            Counts {
                pageviews: 3,
                clicks: 1,
                bots: 1,
                holds: 1,
                checkouts: 1,
                purchases: 1,
                revenue_cents: 2500
            }
        );
        assert_eq!(day.sketch.estimate(), 2);
        assert_eq!(
            r.buckets[&(Grain::Minute, at(10, 0, 0))].counts.pageviews,
            2
        );
        assert_eq!(
            r.buckets[&(Grain::Minute, at(10, 0, 0))].sketch.estimate(),
            1
        );
        assert_eq!(r.buckets[&(Grain::Hour, at(10, 0, 0))].counts.holds, 1);
        assert_eq!(r.buckets[&(Grain::Hour, at(11, 0, 0))].counts.purchases, 1);
        // The minutes add up to the hours and the hours to the day.
        for g in [Grain::Minute, Grain::Hour] {
            let mut sum = Counts::default();
            for ((grain, _), b) in &r.buckets {
                if *grain == g {
                    sum.add(&b.counts);
                }
            }
            assert_eq!(sum, day.counts);
        }
        assert_eq!(r.tops[&(at(0, 0, 0), Dim::Page, "/s/shop".to_string())], 3);
        assert_eq!(
            r.tops[&(at(0, 0, 0), Dim::Campaign, "launch".to_string())],
            3
        );
        assert_eq!(
            r.tops[&(at(0, 0, 0), Dim::Device, "desktop".to_string())],
            3
        );
    }

    #[test]
    fn a_drops_holds_within_a_minute_merge_into_one_event_that_counts_the_same() {
        let hold = |t| Event::server(Kind::Hold, t, 0, "drop-a".into());
        let events = vec![
            ("a", hold(at(10, 1, 2))),
            ("b", hold(at(10, 1, 3))),
            ("a", ev(Kind::Pageview, 7, at(10, 1, 4))),
            ("a", hold(at(10, 1, 59))),
            ("a", hold(at(10, 2, 0))),
            ("b", hold(at(10, 1, 30))),
        ];
        let mut before = Counts::default();
        for (_, e) in &events {
            before.add_event(e);
        }
        let merged = merge_holds(events);
        let shape: Vec<(&str, Kind, i64, NaiveDateTime)> = merged
            .iter()
            .map(|(k, e)| (*k, e.kind, e.count, e.at))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("a", Kind::Hold, 2, at(10, 1, 59)),
                ("b", Kind::Hold, 2, at(10, 1, 30)),
                ("a", Kind::Pageview, 1, at(10, 1, 4)),
                ("a", Kind::Hold, 1, at(10, 2, 0)),
            ]
        );
        let mut after = Counts::default();
        for (_, e) in &merged {
            after.add_event(e);
        }
        assert_eq!(after, before);
        assert_eq!(after.holds, 5);
        // Each grain's rollup is unchanged by the merge.
        let unmerged =
            BatchRollup::of(&[hold(at(10, 1, 2)), hold(at(10, 1, 59)), hold(at(10, 2, 0))]);
        let merged = BatchRollup::of(
            &merge_holds(vec![
                (1, hold(at(10, 1, 2))),
                (1, hold(at(10, 1, 59))),
                (1, hold(at(10, 2, 0))),
            ])
            .into_iter()
            .map(|(_, e)| e)
            .collect::<Vec<_>>(),
        );
        assert_eq!(
            merged
                .buckets
                .values()
                .map(|r| format!("{r:?}"))
                .collect::<Vec<_>>(),
            unmerged
                .buckets
                .values()
                .map(|r| format!("{r:?}"))
                .collect::<Vec<_>>()
        );
    }
}

//! Server-rendered HTML for public pages. Everything that comes from a user goes through
//! [`esc`]; URLs were validated as http(s) when saved.

use chrono::NaiveDateTime;
use std::fmt::Write;

use crate::db::models::drop::DropRow;
use crate::db::models::product::ProductRow;
use crate::db::models::storefront::StorefrontRow;
use crate::domain::blocks::{Block, BlockType};
use crate::domain::money::format_minor;
use crate::domain::product::Details;
use crate::http::storefronts::{Link, Theme};

pub use crate::domain::html::esc;

/// Social networks' profile URLs.
fn social_url(network: &str, handle: &str) -> Option<String> {
    let h = esc(handle);
    Some(match network {
        "instagram" => format!("https://instagram.com/{h}"),
        "tiktok" => format!("https://www.tiktok.com/@{h}"),
        "youtube" => format!("https://www.youtube.com/@{h}"),
        "x" => format!("https://x.com/{h}"),
        "twitch" => format!("https://twitch.tv/{h}"),
        "threads" => format!("https://www.threads.net/@{h}"),
        _ => return None,
    })
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "digital" => "Digital download",
        "physical" => "Shipped to you",
        "service" => "Service",
        "membership" => "Membership",
        "tip" => "Pay what you want",
        "link" => "Link",
        "event" => "Event",
        _ => "Product",
    }
}

/// Stock at or under this is shown as "only N left".
pub const LOW_STOCK: i64 = 10;

/// What a buyer needs to know of a product of this kind, as escaped HTML lines: an event's
/// time and place, a service's length, how much is left of a physical product when little
/// is.
fn kind_facts(d: &Details, available: Option<i64>, now: NaiveDateTime) -> Vec<String> {
    let left = available.unwrap_or(0);
    match d {
        Details::Event {
            starts_at,
            capacity,
            location,
        } => {
            let mut out = vec![format!(
                r#"<time datetime="{}">{}</time>"#,
                starts_at.to_rfc3339(),
                starts_at.format("%a %-d %b %Y, %H:%M UTC")
            )];
            if let Some(l) = location.as_deref().filter(|l| !l.is_empty()) {
                out.push(esc(l));
            }
            out.push(format!("{capacity} places"));
            if starts_at.naive_utc() < now {
                out.push("Took place".into());
            } else if left <= 0 {
                out.push("Sold out".into());
            } else if left <= LOW_STOCK {
                out.push(format!("Only {left} left"));
            }
            out
        }
        Details::Service {
            duration_minutes: Some(m),
        } => vec![format!("{m} minutes")],
        Details::Physical { .. } if left <= 0 => vec!["Sold out".into()],
        Details::Physical { .. } if left <= LOW_STOCK => vec![format!("Only {left} left")],
        Details::Digital { .. } => vec!["Download after purchase".into()],
        _ => Vec::new(),
    }
}

/// The buy button's words for a product that can be bought now (`None`: a link, sold
/// out, or an event that took place).
fn buy_label(d: &Details, available: Option<i64>, now: NaiveDateTime) -> Option<&'static str> {
    if available.is_some_and(|n| n <= 0) {
        return None;
    }
    Some(match d {
        Details::Link { .. } => return None,
        Details::Event { starts_at, .. } if starts_at.naive_utc() < now => return None,
        Details::Event { .. } => "Get tickets",
        Details::Membership { .. } => "Join",
        Details::Tip { .. } => "Leave a tip",
        Details::Service { .. } => "Book",
        Details::Digital { .. } | Details::Physical { .. } => "Buy",
    })
}

/// What a storefront page shows besides its own row: products, drops, raffles, and its
/// page views and link clicks of the last 30 days (from the analytics rollups).
pub struct StorefrontPage<'a> {
    /// The page's blocks in order (`domain::blocks`).
    pub blocks: &'a [Block],
    pub products: &'a [ProductRow],
    pub drops: &'a [DropRow],
    /// Units left to hold per drop (a drop with none left is sold out, not live).
    pub remaining: &'a std::collections::HashMap<crate::domain::ids::DropId, i64>,
    pub raffles: &'a [crate::db::models::raffle::RaffleRow],
    pub views_30d: i64,
    pub clicks_30d: i64,
    /// The theme's stylesheet: `/s/{slug}/theme.css`, or the preview's (a theme not saved).
    pub theme_href: String,
    /// The studio's preview: no beacon (a preview is not a visit), no scripts at all.
    pub preview: bool,
}

pub fn storefront(sf: &StorefrontRow, page: &StorefrontPage<'_>, now: NaiveDateTime) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <link rel="icon" href="data:,">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} · livedrop</title>
  <meta name="description" content="{bio}">
  <link rel="stylesheet" href="/static/app.css">
  <link rel="stylesheet" href="{theme_href}">
  <meta name="livedrop-storefront" content="{slug}">
{beacon}</head>
<body class="storefront">
  <main>
"#,
        title = esc(&sf.title),
        bio = esc(&sf.bio),
        slug = esc(&sf.slug),
        theme_href = esc(&page.theme_href),
        beacon = if page.preview {
            ""
        } else {
            "  <script type=\"module\" src=\"/static/beacon.js\"></script>\n"
        },
    );
    let mut titled = false;
    for (i, b) in page.blocks.iter().enumerate().filter(|(_, b)| !b.hidden) {
        // Element ids stay unique when a type appears twice.
        let key = format!("{i}");
        let setting = |name: &str| b.settings.get(name).and_then(|v| v.as_str());
        match b.kind {
            BlockType::Header => {
                header(&mut h, sf);
                titled = true;
            }
            BlockType::Socials => socials(&mut h, sf),
            BlockType::Links => links(&mut h, sf),
            BlockType::Products => products(&mut h, page.products, &key, "Products", now),
            BlockType::Product => {
                let one = page
                    .products
                    .iter()
                    .find(|p| Some(p.id.to_string().as_str()) == setting("product_id"));
                if let Some(p) = one {
                    products(&mut h, std::slice::from_ref(p), &key, &p.title, now);
                }
            }
            BlockType::Drop => {
                let chosen: Vec<DropRow> = page
                    .drops
                    .iter()
                    .filter(|d| setting("drop_id").is_none_or(|id| d.id.to_string() == id))
                    .cloned()
                    .collect();
                drops(&mut h, &chosen, page.remaining, &key, now);
            }
            BlockType::Raffle => {
                let chosen: Vec<_> = page
                    .raffles
                    .iter()
                    .filter(|r| setting("raffle_id").is_none_or(|id| r.id.to_string() == id))
                    .cloned()
                    .collect();
                raffles(&mut h, &chosen, &key, now);
            }
            BlockType::Text => {
                let _ = writeln!(
                    h,
                    r#"    <section class="text-block" data-testid="text-block">"#
                );
                if let Some(t) = setting("title") {
                    let _ = writeln!(h, "      <h2>{}</h2>", esc(t));
                }
                for para in setting("body").unwrap_or("").split("\n\n") {
                    let _ = writeln!(h, "      <p>{}</p>", esc(para).replace('\n', "<br>"));
                }
                let _ = writeln!(h, "    </section>");
            }
            BlockType::Contact => {
                let email = setting("email").unwrap_or("");
                let _ = writeln!(
                    h,
                    r#"    <section class="contact" data-testid="contact-block"><h2>{}</h2><p><a href="mailto:{}">{}</a></p></section>"#,
                    esc(setting("title").unwrap_or("Contact")),
                    esc(email),
                    esc(email)
                );
            }
        }
    }
    if !titled {
        // The page keeps its one heading of the first rank when the header is hidden.
        let _ = writeln!(
            h,
            r#"    <h1 class="visually-hidden">{}</h1>"#,
            esc(&sf.title)
        );
    }
    let _ = writeln!(
        h,
        r#"  </main>
  <footer><p class="stats" data-testid="stats">{views} views · {clicks} link clicks in the last 30 days</p><p>Powered by <a href="/">livedrop</a></p></footer>
</body>
</html>"#,
        views = page.views_30d,
        clicks = page.clicks_30d,
    );
    h
}

fn header(h: &mut String, sf: &StorefrontRow) {
    let _ = writeln!(h, r#"  <header class="sf-header">"#);
    if let Some(a) = &sf.avatar_url {
        let _ = writeln!(
            h,
            r#"    <img class="avatar" src="{}" alt="" width="96" height="96">"#,
            esc(a)
        );
    }
    let _ = writeln!(h, "    <h1>{}</h1>", esc(&sf.title));
    if !sf.bio.is_empty() {
        let _ = writeln!(h, r#"    <p class="bio">{}</p>"#, esc(&sf.bio));
    }
    let _ = writeln!(h, "  </header>");
}

fn socials(h: &mut String, sf: &StorefrontRow) {
    let socials: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&sf.socials).unwrap_or_default();
    if !socials.is_empty() {
        let _ = writeln!(
            h,
            r#"    <ul class="socials" aria-label="Social profiles">"#
        );
        for (network, handle) in &socials {
            if let Some(url) = social_url(network, handle) {
                let _ = writeln!(
                    h,
                    r#"      <li><a href="{url}" rel="me noopener" data-testid="social">{} <span class="handle">@{}</span></a></li>"#,
                    esc(network),
                    esc(handle)
                );
            }
        }
        let _ = writeln!(h, "    </ul>");
    }
}

fn links(h: &mut String, sf: &StorefrontRow) {
    let links: Vec<Link> = serde_json::from_str(&sf.links).unwrap_or_default();
    if !links.is_empty() {
        let _ = writeln!(h, r#"    <nav class="links" aria-label="Links"><ul>"#);
        for l in &links {
            let _ = writeln!(
                h,
                r#"      <li><a class="link" data-testid="link" href="{}" rel="noopener">{}</a></li>"#,
                esc(&l.url),
                esc(&l.title)
            );
        }
        let _ = writeln!(h, "    </ul></nav>");
    }
}

fn drops(
    h: &mut String,
    drops: &[DropRow],
    remaining: &std::collections::HashMap<crate::domain::ids::DropId, i64>,
    key: &str,
    now: NaiveDateTime,
) {
    if !drops.is_empty() {
        let _ = writeln!(
            h,
            r#"    <section aria-labelledby="drops-h-{key}"><h2 id="drops-h-{key}">Drops</h2><ul class="drops">"#
        );
        for d in drops {
            let left = remaining.get(&d.id).copied().unwrap_or(0);
            let status = d.schedule().status_at(d.stored_status(), now, left);
            let _ = writeln!(
                h,
                r#"      <li><a data-testid="drop" href="/d/{}">{}</a> <span class="status">{}</span> <time datetime="{}">{}</time></li>"#,
                d.id,
                esc(&d.title),
                esc(status.as_str()),
                d.opens_at.and_utc().to_rfc3339(),
                d.opens_at.and_utc().format("%Y-%m-%d %H:%M UTC"),
            );
        }
        let _ = writeln!(h, "    </ul></section>");
    }
}

fn raffles(
    h: &mut String,
    raffles: &[crate::db::models::raffle::RaffleRow],
    key: &str,
    now: NaiveDateTime,
) {
    if !raffles.is_empty() {
        let _ = writeln!(
            h,
            r#"    <section aria-labelledby="raffles-h-{key}"><h2 id="raffles-h-{key}">Raffles</h2><ul class="drops">"#
        );
        for r in raffles {
            let status =
                crate::domain::raffle::RaffleStatus::at(&r.status, r.opens_at, r.closes_at, now);
            let _ = writeln!(
                h,
                r#"      <li><a data-testid="raffle" href="/r/{}">{}</a> <span class="status">{}</span> <time datetime="{}">closes {}</time></li>"#,
                r.id,
                esc(&r.title),
                esc(status.as_str()),
                r.closes_at.and_utc().to_rfc3339(),
                r.closes_at.and_utc().format("%Y-%m-%d %H:%M UTC"),
            );
        }
        let _ = writeln!(h, "    </ul></section>");
    }
}

fn products(h: &mut String, products: &[ProductRow], key: &str, heading: &str, now: NaiveDateTime) {
    let _ = writeln!(
        h,
        r#"    <section aria-labelledby="products-h-{key}"><h2 id="products-h-{key}">{}</h2>"#,
        esc(heading)
    );
    if products.is_empty() {
        let _ = writeln!(h, "    <p>Nothing here yet.</p>");
    }
    let _ = writeln!(h, r#"    <div class="products">"#);
    for p in products {
        let price = if p.price_cents == 0 {
            "Free".to_string()
        } else {
            format_minor(p.price_cents, &p.currency)
        };
        let details = p.details();
        // A link product is the link: its title opens the URL.
        let title = match &details {
            Some(Details::Link { url }) => format!(
                r#"<a data-testid="product-link" href="{}" rel="noopener nofollow">{}</a>"#,
                esc(url),
                esc(&p.title)
            ),
            _ => esc(&p.title),
        };
        let price = match &details {
            Some(Details::Link { .. }) => String::new(),
            Some(Details::Membership { billing_interval }) => {
                format!("{price} a {billing_interval}")
            }
            Some(Details::Tip { min_cents }) if *min_cents > 0 => {
                format!("from {}", format_minor(*min_cents, &p.currency))
            }
            Some(Details::Tip { .. }) => "any amount".into(),
            _ => price,
        };
        let _ = writeln!(
            h,
            r#"      <article class="product" data-testid="product" data-kind="{kind}">
        <h3>{title}</h3>
        <p class="kind">{label}</p>"#,
            kind = esc(&p.kind),
            label = kind_label(&p.kind),
        );
        if !price.is_empty() {
            let _ = writeln!(h, r#"        <p class="price">{}</p>"#, esc(&price));
        }
        if let Some(d) = &details {
            for line in kind_facts(d, p.available(), now) {
                let _ = writeln!(
                    h,
                    r#"        <p class="fact" data-testid="fact">{line}</p>"#
                );
            }
        }
        let _ = writeln!(
            h,
            r#"        <p class="description">{desc}</p>"#,
            desc = esc(&p.description),
        );
        if let Some(label) = details
            .as_ref()
            .and_then(|d| buy_label(d, p.available(), now))
        {
            let _ = writeln!(
                h,
                r#"        <a class="button buy" data-testid="buy" href="/checkout/{}">{label}</a>"#,
                p.id
            );
        }
        let _ = writeln!(h, "      </article>");
    }
    let _ = writeln!(h, "    </div></section>");
}

/// The theme as CSS custom properties; anything that is not a hex colour is left out.
pub fn theme_css(theme_json: &str) -> String {
    theme_css_of(&serde_json::from_str(theme_json).unwrap_or_default())
}

/// Where the studio's preview finds a theme that is not saved yet: its colours in the
/// query (`/preview/theme.css`, which serves any valid colours to anyone).
pub fn preview_theme_href(theme_json: &str) -> String {
    let theme: Theme = serde_json::from_str(theme_json).unwrap_or_default();
    let mut href = String::from("/preview/theme.css?");
    for (name, value) in [
        ("primary", &theme.primary),
        ("background", &theme.background),
        ("text", &theme.text),
    ] {
        if let Some(v) = value
            .as_ref()
            .filter(|v| crate::domain::validate::color(v).is_ok())
        {
            let _ = write!(href, "{name}=%23{}&", v.trim_start_matches('#'));
        }
    }
    href.pop();
    href
}

pub fn theme_css_of(theme: &Theme) -> String {
    let ok = |c: &Option<String>| {
        c.as_ref()
            .filter(|c| crate::domain::validate::color(c).is_ok())
            .cloned()
    };
    let mut css = String::from(".storefront {\n");
    let (primary, bg, fg) = (ok(&theme.primary), ok(&theme.background), ok(&theme.text));
    for (var, value) in [("--primary", &primary), ("--bg", &bg), ("--fg", &fg)] {
        if let Some(v) = value {
            let _ = writeln!(css, "  {var}: {v};");
        }
    }
    // What sits on the brand colour (link buttons, buy buttons): black or white, whichever
    // reads better on it.
    if let Some(l) = primary.as_deref().and_then(luminance) {
        let on = if contrast(l, 1.0) >= contrast(l, 0.0) {
            "#ffffff"
        } else {
            "#000000"
        };
        let _ = writeln!(css, "  --on-primary: {on};");
    }
    // Cards, borders and secondary text follow the page's own colours (a dark theme gets
    // dark cards, not white ones with light text on them).
    if bg.is_some() {
        css.push_str("  --card: var(--bg);\n");
    }
    if bg.is_some() || fg.is_some() {
        css.push_str("  --border: color-mix(in srgb, var(--fg) 25%, var(--bg));\n");
        css.push_str("  --muted: color-mix(in srgb, var(--fg) 75%, var(--bg));\n");
    }
    css.push_str("}\n");
    css
}

/// WCAG relative luminance of a `#rgb` or `#rrggbb` colour.
pub fn luminance(hex: &str) -> Option<f64> {
    let h = hex.strip_prefix('#')?;
    let full: String = match h.len() {
        3 => h.chars().flat_map(|c| [c, c]).collect(),
        6 => h.to_string(),
        _ => return None,
    };
    let channel = |i: usize| -> Option<f64> {
        let c = f64::from(u8::from_str_radix(full.get(i..i + 2)?, 16).ok()?) / 255.0;
        Some(if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        })
    };
    Some(0.2126 * channel(0)? + 0.7152 * channel(2)? + 0.0722 * channel(4)?)
}

/// WCAG contrast ratio of two luminances (1 to 21).
pub fn contrast(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    (hi + 0.05) / (lo + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>"x"&'y'</script>"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn text_on_the_brand_colour_is_whichever_of_black_and_white_reads_better() {
        assert!(
            (contrast(luminance("#000").unwrap(), luminance("#ffffff").unwrap()) - 21.0).abs()
                < 1e-9
        );
        let light = theme_css(r##"{"primary":"#c4b5fd","background":"#14111c","text":"#f4f1fa"}"##);
        assert!(light.contains("--on-primary: #000000;"), "{light}");
        assert!(light.contains("--card: var(--bg);"), "{light}");
        let dark = theme_css(r##"{"primary":"#4c1d95"}"##);
        assert!(dark.contains("--on-primary: #ffffff;"), "{dark}");
        assert!(!dark.contains("--card"), "{dark}");
    }

    #[test]
    fn theme_css_drops_anything_but_colours() {
        let css = theme_css(
            r##"{"primary":"#123456","background":"red;}body{display:none","text":null}"##,
        );
        assert!(css.contains("--primary: #123456;"));
        assert!(!css.contains("display"));
    }
}

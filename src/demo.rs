//! The demo storefront seeded in embedded mode, so `cargo run --release` shows something:
//! a verified creator and buyer, a published storefront with links and one product of each
//! kind, a drop opening a few minutes after start and an open giveaway raffle.

use chrono::Duration;
use serde_json::json;

use crate::auth::{password, Role};
use crate::db::models::drop::{self as drop_model, DropRow, VariantRow};
use crate::db::models::product::{self, ProductRow};
use crate::db::models::storefront::{self, StorefrontRow};
use crate::db::models::{now, user};
use crate::domain::drop::DropStatus;
use crate::domain::ids::{DropId, ProductId, StorefrontId, UserId, VariantId};
use crate::domain::product::{details, Kind};
use crate::domain::validate::Check;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const SLUG: &str = "demo";
pub const CREATOR_EMAIL: &str = "creator@demo.livedrop.local";
pub const BUYER_EMAIL: &str = "buyer@demo.livedrop.local";
/// Printed at start; the demo runs on the operator's own machine.
pub const PASSWORD: &str = "demo-password-1";
/// The demo drop opens this long after the seed, so a visitor sees the countdown.
pub const DROP_OPENS_IN: Duration = Duration::minutes(3);

async fn demo_user(state: &AppState, email: &str, role: Role) -> AppResult<UserId> {
    if let Some(u) = user::find_by_email(&state.store, email).await? {
        return Ok(u.id);
    }
    let t = now();
    let u = user::User {
        id: UserId::new(),
        email: email.into(),
        password_hash: password::hash(PASSWORD.into()).await?,
        role: role.as_str().into(),
        email_verified_at: Some(t),
        created_at: t,
        updated_at: t,
    };
    user::insert(&state.store, &u).await?;
    Ok(u.id)
}

/// Seed the demo unless the demo storefront exists. Returns the drop's id when it seeded.
pub async fn seed_if_empty(state: &AppState) -> AppResult<Option<DropId>> {
    if storefront::find_by_slug(&state.store, SLUG)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let creator = demo_user(state, CREATOR_EMAIL, Role::Creator).await?;
    demo_user(state, BUYER_EMAIL, Role::Buyer).await?;
    let t = now();
    let sf = StorefrontRow {
        platform_fee_bp: state.config.platform_fee_bp,
        id: StorefrontId::new(),
        owner_id: creator,
        slug: SLUG.into(),
        title: "Nova Threads".into(),
        bio: "Small-batch streetwear and sound packs, dropped live every Friday.".into(),
        avatar_url: None,
        theme: json!({"primary": "#5b21b6", "background": "#faf7ff", "text": "#1f1633"})
            .to_string(),
        links: json!([
            {"title": "Friday drop calendar", "url": "https://example.com/nova/calendar"},
            {"title": "Sound packs on Bandcamp", "url": "https://example.com/nova/bandcamp"},
            {"title": "Sizing guide", "url": "https://example.com/nova/sizing"},
        ])
        .to_string(),
        socials:
            json!({"instagram": "novathreads", "tiktok": "nova.threads", "youtube": "NovaThreads"})
                .to_string(),
        status: "published".into(),
        created_at: t,
        updated_at: t,
    };
    storefront::insert(&state.store, &sf).await?;

    let starts = (t + Duration::days(30)).and_utc().to_rfc3339();
    let items = [
        (
            Kind::Physical,
            "Midnight hoodie",
            6500,
            json!({"stock": 40, "weight_grams": 650, "shipping_cents": 495}),
        ),
        (
            Kind::Digital,
            "Lo-fi sample pack vol. 3",
            1500,
            // Served by this binary, so the demo's download works offline.
            json!({"download_url": format!(
                "{}/static/demo-download.txt",
                state.config.public_url.trim_end_matches('/')
            )}),
        ),
        (
            Kind::Service,
            "30-minute style consult",
            4000,
            json!({"duration_minutes": 30}),
        ),
        (
            Kind::Membership,
            "Inner circle",
            800,
            json!({"billing_interval": "month"}),
        ),
        (Kind::Tip, "Buy me a coffee", 500, json!({"min_cents": 100})),
        (
            Kind::Link,
            "Lookbook",
            0,
            json!({"url": "https://example.com/nova/lookbook"}),
        ),
        (
            Kind::Event,
            "Pop-up night",
            2000,
            json!({"starts_at": starts, "capacity": 120, "location": "Studio 4, Leeds"}),
        ),
    ];
    let mut hoodie = None;
    for (i, (kind, title, price, fields)) in items.into_iter().enumerate() {
        let mut check = Check::new();
        let fields = fields.as_object().cloned().unwrap_or_default();
        let d = details(kind, &fields, &mut check)
            .ok_or_else(|| AppError::internal("demo product invalid"))?;
        let row = ProductRow {
            id: ProductId::new(),
            storefront_id: sf.id,
            kind: kind.as_str().into(),
            title: title.into(),
            description: format!("{title} from Nova Threads."),
            price_cents: price,
            currency: "USD".into(),
            details: serde_json::to_string(&d).map_err(AppError::internal)?,
            status: "published".into(),
            position: i as i64,
            created_at: t,
            updated_at: t,
            sold: 0,
            archived_at: None,
        };
        product::insert(&state.store, &row).await?;
        if kind == Kind::Physical {
            hoodie = Some(row.id);
        }
    }

    let product_id = hoodie.ok_or_else(|| AppError::internal("demo hoodie missing"))?;
    let id = DropId::new();
    let drop = DropRow {
        platform_fee_bp: state.config.platform_fee_bp,
        id,
        storefront_id: sf.id,
        product_id,
        title: "Midnight hoodie — Friday drop".into(),
        price_cents: 6500,
        currency: "USD".into(),
        opens_at: state.clock.now() + DROP_OPENS_IN,
        closes_at: None,
        per_buyer_limit: 2,
        hold_seconds: 600,
        waiting_room_seconds: 30,
        status: DropStatus::Scheduled.as_str().into(),
        queue_seed: None,
        created_at: t,
        updated_at: t,
        raffle_id: None,
    };
    let variants: Vec<VariantRow> = [("S", 10), ("M", 20), ("L", 20), ("XL", 10)]
        .into_iter()
        .enumerate()
        .map(|(i, (name, stock))| VariantRow {
            id: VariantId::new(),
            drop_id: id,
            name: name.into(),
            position: i as i64,
            stock,
            remaining: stock,
            held: 0,
            sold: 0,
        })
        .collect();
    drop_model::create(&state.store, &drop, &variants).await?;

    // A free-entry giveaway, open now, so the raffle page and its live totals show too.
    let (seed, commitment) = crate::raffle::new_seed();
    let prizes = vec![
        crate::raffle::proof::Prize {
            rank_from: 1,
            rank_to: 1,
            description: "A Midnight hoodie".into(),
        },
        crate::raffle::proof::Prize {
            rank_from: 2,
            rank_to: 3,
            description: "A Nova Threads sticker pack".into(),
        },
    ];
    let raffle = crate::db::models::raffle::RaffleRow {
        id: crate::domain::ids::RaffleId::new(),
        storefront_id: Some(sf.id),
        created_by: Some(creator),
        title: "Nova Threads launch giveaway".into(),
        description: "One free entry per account. Winners are drawn by a commit-reveal draw \
            anyone can verify with `livedrop raffle verify`."
            .into(),
        prizes: serde_json::to_string(&prizes).map_err(AppError::internal)?,
        alternates: 2,
        entry: "free".into(),
        tickets_per_dollar: 0,
        opens_at: t,
        closes_at: t + Duration::days(2),
        status: "published".into(),
        month: None,
        seed,
        commitment,
        entrants: 0,
        tickets: 0,
        entries_digest: None,
        result: None,
        drop_id: None,
        claim_seconds: 600,
        closed_at: None,
        drawn_at: None,
        created_at: t,
        updated_at: t,
    };
    crate::db::models::raffle::insert(&state.store, &raffle).await?;
    tracing::info!(storefront = %sf.id, drop = %id, raffle = %raffle.id, "demo seeded");
    Ok(Some(id))
}

/// A verified account of `role` that has no password (it signs in only by token): for
/// tests, benchmarks and fixtures.
pub async fn account(state_store: &crate::db::Store, role: Role) -> AppResult<user::User> {
    let t = now();
    let id = UserId::new();
    let u = user::User {
        id,
        email: format!("{}-{}@fixture.livedrop.local", role.as_str(), id.0.simple()),
        // Not a PHC string: no password ever matches it.
        password_hash: "!".into(),
        role: role.as_str().into(),
        email_verified_at: Some(t),
        created_at: t,
        updated_at: t,
    };
    user::insert(state_store, &u).await?;
    Ok(u)
}

/// A fixture's fee: `PLATFORM_FEE_BP`'s default.
const DEFAULT_PLATFORM_FEE_BP: i64 = 500;

/// A published storefront of `owner` with one published service product: for tests,
/// benchmarks and fixtures. Returns (storefront, product).
pub async fn shop(store: &crate::db::Store, owner: UserId) -> AppResult<(StorefrontId, ProductId)> {
    let t = now();
    let sf = StorefrontRow {
        platform_fee_bp: DEFAULT_PLATFORM_FEE_BP,
        id: StorefrontId::new(),
        owner_id: owner,
        slug: format!("shop-{}", &StorefrontId::new().0.simple().to_string()[16..]),
        title: "Fixture shop".into(),
        bio: String::new(),
        avatar_url: None,
        theme: "{}".into(),
        links: "[]".into(),
        socials: "{}".into(),
        status: "published".into(),
        created_at: t,
        updated_at: t,
    };
    storefront::insert(store, &sf).await?;
    let p = ProductRow {
        id: ProductId::new(),
        storefront_id: sf.id,
        kind: Kind::Physical.as_str().into(),
        title: "Hoodie".into(),
        description: String::new(),
        price_cents: 5000,
        currency: "USD".into(),
        details: r#"{"kind":"physical","stock":100,"requires_shipping":true,"weight_grams":null}"#
            .into(),
        status: "published".into(),
        position: 0,
        created_at: t,
        updated_at: t,
        sold: 0,
        archived_at: None,
    };
    product::insert(store, &p).await?;
    Ok((sf.id, p.id))
}

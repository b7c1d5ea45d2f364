//! Storefronts: a creator's public page with links, socials and products.

pub mod blocks;
pub mod create;
pub mod list;
pub mod publish;
pub mod show;
pub mod slug;
pub mod update;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::db::models::storefront::{self as model, StorefrontRow};
use crate::domain::ids::{StorefrontId, UserId};
use crate::domain::validate::{self, Check};
use crate::error::{AppError, AppResult};
use crate::http::products::ProductView;
use crate::state::AppState;

/// Networks a storefront may link a handle for.
pub const SOCIAL_NETWORKS: &[&str] = &["instagram", "tiktok", "youtube", "x", "twitch", "threads"];
pub const MAX_LINKS: usize = 50;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    /// `#rgb` or `#rrggbb`.
    #[schema(pattern = r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    pub primary: Option<String>,
    #[schema(pattern = r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    pub background: Option<String>,
    #[schema(pattern = r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    #[schema(
        max_length = 80,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub title: String,
    /// An absolute `http` or `https` URL, as the service wrote it back.
    pub url: String,
}

/// A link as a form sends it. Documentation only: forms read a [`Link`].
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct LinkForm {
    #[schema(
        max_length = 80,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub title: String,
    /// An absolute `http` or `https` URL (the document states the plain host names it takes;
    /// the service takes any host a URL parser does, IP addresses included).
    #[schema(
        max_length = 2048,
        pattern = r"^https?://(([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0))?(/[!-~]*)?$"
    )]
    pub url: String,
}

/// A storefront's social handles (`SOCIAL_NETWORKS`), each 1 to 30 letters, digits, `_`
/// or `.` after an optional `@`. Documentation only: forms read a map.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Socials {
    #[schema(required = false, pattern = r"^@?[A-Za-z0-9_.]{1,30}$")]
    pub instagram: String,
    #[schema(required = false, pattern = r"^@?[A-Za-z0-9_.]{1,30}$")]
    pub tiktok: String,
    #[schema(required = false, pattern = r"^@?[A-Za-z0-9_.]{1,30}$")]
    pub youtube: String,
    #[schema(required = false, pattern = r"^@?[A-Za-z0-9_.]{1,30}$")]
    pub x: String,
    #[schema(required = false, pattern = r"^@?[A-Za-z0-9_.]{1,30}$")]
    pub twitch: String,
    #[schema(required = false, pattern = r"^@?[A-Za-z0-9_.]{1,30}$")]
    pub threads: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StorefrontView {
    pub id: StorefrontId,
    pub owner_id: UserId,
    pub slug: String,
    pub title: String,
    pub bio: String,
    pub avatar_url: Option<String>,
    pub theme: Theme,
    pub links: Vec<Link>,
    /// Network → handle.
    pub socials: BTreeMap<String, String>,
    /// `draft` or `published`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// With `GET /api/storefronts/{id_or_slug}`: the published products (all, for the owner).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub products: Option<Vec<ProductView>>,
    /// With `GET /api/storefronts/{id_or_slug}`: page views and link clicks of the last
    /// 30 days, from the daily rollups (bots not counted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<StorefrontStats>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct StorefrontStats {
    pub views_30d: i64,
    pub clicks_30d: i64,
}

impl StorefrontView {
    pub fn new(r: &StorefrontRow, products: Option<Vec<ProductView>>) -> Self {
        StorefrontView {
            id: r.id,
            owner_id: r.owner_id,
            slug: r.slug.clone(),
            title: r.title.clone(),
            bio: r.bio.clone(),
            avatar_url: r.avatar_url.clone(),
            theme: serde_json::from_str(&r.theme).unwrap_or_default(),
            links: serde_json::from_str(&r.links).unwrap_or_default(),
            socials: serde_json::from_str(&r.socials).unwrap_or_default(),
            status: r.status.clone(),
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
            products,
            stats: None,
        }
    }
}

/// Validated optional fields shared by create and update; `None` = leave as it is.
#[derive(Default)]
pub struct Cleaned {
    pub slug: Option<String>,
    pub title: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<Option<String>>,
    pub theme: Option<String>,
    pub links: Option<String>,
    pub socials: Option<String>,
}

#[allow(clippy::too_many_arguments)]
pub fn clean(
    check: &mut Check,
    slug: Option<&str>,
    title: Option<&str>,
    bio: Option<&str>,
    avatar_url: Option<&str>,
    theme: Option<&Theme>,
    links: Option<&[Link]>,
    socials: Option<&BTreeMap<String, String>>,
) -> Cleaned {
    let mut out = Cleaned {
        slug: slug.and_then(|s| check.take("slug", validate::slug(s))),
        title: title.and_then(|t| check.take("title", validate::text(t, 1, 80, false))),
        bio: bio.and_then(|b| check.take("bio", validate::text(b, 0, 1000, true))),
        ..Default::default()
    };
    if let Some(a) = avatar_url {
        out.avatar_url = if a.trim().is_empty() {
            Some(None)
        } else {
            check.take("avatar_url", validate::http_url(a)).map(Some)
        };
    }
    if let Some(t) = theme {
        let mut clean = Theme::default();
        for (name, value, slot) in [
            ("theme.primary", &t.primary, &mut clean.primary),
            ("theme.background", &t.background, &mut clean.background),
            ("theme.text", &t.text, &mut clean.text),
        ] {
            if let Some(v) = value {
                *slot = check.take(name, validate::color(v));
            }
        }
        out.theme = serde_json::to_string(&clean).ok();
    }
    if let Some(ls) = links {
        if ls.len() > MAX_LINKS {
            check.fail("links", format!("at most {MAX_LINKS} links"));
        }
        let mut clean = Vec::new();
        for (i, l) in ls.iter().enumerate().take(MAX_LINKS) {
            let title = check.take(
                &format!("links.{i}.title"),
                validate::text(&l.title, 1, 80, false),
            );
            let url = check.take(&format!("links.{i}.url"), validate::http_url(&l.url));
            if let (Some(title), Some(url)) = (title, url) {
                clean.push(Link { title, url });
            }
        }
        out.links = serde_json::to_string(&clean).ok();
    }
    if let Some(ss) = socials {
        let mut clean = BTreeMap::new();
        for (network, handle) in ss {
            let field = format!("socials.{network}");
            if !SOCIAL_NETWORKS.contains(&network.as_str()) {
                check.fail(
                    &field,
                    format!("is not one of {}", SOCIAL_NETWORKS.join(", ")),
                );
                continue;
            }
            let h = handle.trim().trim_start_matches('@');
            if h.is_empty()
                || h.len() > 30
                || !h
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            {
                check.fail(
                    &field,
                    "must be a handle of 1 to 30 letters, digits, `_` or `.`",
                );
                continue;
            }
            clean.insert(network.clone(), h.to_string());
        }
        out.socials = serde_json::to_string(&clean).ok();
    }
    out
}

/// A storefront by UUID or slug, as `who` may see it: published ones for everyone, drafts
/// for their owner and admins; anything else is a 404.
pub async fn visible(
    state: &AppState,
    who: Option<&AuthUser>,
    key: &str,
) -> AppResult<StorefrontRow> {
    let row = by_key(state, key).await?;
    if row.status == "published" || who.is_some_and(|w| w.is_admin() || w.id == row.owner_id) {
        Ok(row)
    } else {
        Err(AppError::NotFound)
    }
}

/// A storefront by UUID or slug (the paths that share `{id_or_slug}` take both); a 404
/// when there is none.
pub async fn by_key(state: &AppState, key: &str) -> AppResult<StorefrontRow> {
    match StorefrontId::parse(key) {
        Some(id) => model::find(&state.store, id).await?,
        None => model::find_by_slug(&state.store, &key.to_lowercase()).await?,
    }
    .ok_or(AppError::NotFound)
}

/// A storefront `who` owns (for changes). Someone else's is a 404: its existence is not
/// theirs to learn. Admins read everything but change nothing of a creator's.
pub async fn owned(state: &AppState, who: &AuthUser, key: &str) -> AppResult<StorefrontRow> {
    let row = by_key(state, key).await?;
    if row.owner_id != who.id {
        return Err(AppError::NotFound);
    }
    Ok(row)
}

//! The money ledger: every movement of money is a row, never an edited counter.
//!
//! A paid order is split into one credit per party (the storefront's owner, each accepted
//! collaborator of its drop, the platform's fee) that add up exactly to the amount paid
//! ([`crate::domain::split`]); a refund writes the reversals that bring each party's net
//! to its share of what the buyer kept. Both are written in the transaction that changes
//! the order, by the macros below, so a paid order never lacks its credits.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::schema::ledger_entries;
use crate::domain::ids::{DropId, LedgerId, OrderId, StorefrontId, UserId};
use crate::domain::split::{self, Party, WHOLE_BP};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ledger_entries)]
pub struct LedgerEntry {
    pub id: LedgerId,
    pub order_id: OrderId,
    pub drop_id: Option<DropId>,
    pub storefront_id: StorefrontId,
    /// `"platform"` or a user id.
    pub party: String,
    /// `owner`, `collaborator` or `platform`.
    pub role: String,
    /// `sale` (a credit) or `refund` (a reversal, negative).
    pub kind: String,
    pub share_bp: i64,
    pub amount_cents: i64,
    pub currency: String,
    pub created_at: NaiveDateTime,
}

/// A party's ledger rows (newest first), at most `limit`, in `currency` (`None`: any).
pub async fn of_party(
    store: &crate::db::Store,
    party: &str,
    currency: Option<&str>,
) -> crate::error::AppResult<Vec<LedgerEntry>> {
    let mut conn = store.read().await?;
    let party = party.to_string();
    let currency = currency.map(str::to_string);
    Ok(crate::db_run!(conn, |c| {
        let mut q = ledger_entries::table
            .filter(ledger_entries::party.eq(party.clone()))
            .into_boxed();
        if let Some(cur) = &currency {
            q = q.filter(ledger_entries::currency.eq(cur.clone()));
        }
        q.order((ledger_entries::created_at.desc(), ledger_entries::id.desc()))
            .select(LedgerEntry::as_select())
            .load(c)
            .await
    })?)
}

impl LedgerEntry {
    /// Order `o`'s row for party `s`: a `sale` credit or a `refund` reversal of `amount`.
    pub fn of(
        o: &crate::db::models::order::OrderRow,
        s: &Share,
        kind: &str,
        amount: i64,
        now: NaiveDateTime,
    ) -> LedgerEntry {
        LedgerEntry {
            id: LedgerId::new(),
            order_id: o.id,
            drop_id: o.drop_id,
            storefront_id: o.storefront_id,
            party: s.party.key().to_string(),
            role: s.role.to_string(),
            kind: kind.to_string(),
            share_bp: s.share_bp,
            amount_cents: amount,
            currency: o.currency.clone(),
            created_at: now,
        }
    }
}

/// Every ledger row of a drop's orders, oldest first.
pub async fn of_drop(
    store: &crate::db::Store,
    drop: DropId,
) -> crate::error::AppResult<Vec<LedgerEntry>> {
    let mut conn = store.read().await?;
    Ok(crate::db_run!(conn, |c| {
        ledger_entries::table
            .filter(ledger_entries::drop_id.eq(drop))
            .order((ledger_entries::created_at, ledger_entries::id))
            .select(LedgerEntry::as_select())
            .load(c)
            .await
    })?)
}

/// One party's share of a drop's (or a storefront's) sales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub party: Party,
    pub role: &'static str,
    pub share_bp: i64,
}

/// The parties of a sale, in the split's fixed order: the owner, the collaborators by
/// user id, the platform. The owner keeps what the fee and the collaborators leave; if a
/// fee raised after the invitations would leave less than nothing, the platform's share
/// gives way (the collaborators' agreed shares are kept).
pub fn shares(owner: UserId, fee_bp: i64, collaborators: &[(UserId, i64)]) -> Vec<Share> {
    let mut collab: Vec<(UserId, i64)> = collaborators.to_vec();
    collab.sort();
    let collab_bp: i64 = collab.iter().map(|(_, bp)| bp).sum();
    let fee = fee_bp.clamp(0, (WHOLE_BP - collab_bp).max(0));
    let mut out = vec![Share {
        party: Party::User(owner.to_string()),
        role: "owner",
        share_bp: (WHOLE_BP - collab_bp - fee).max(0),
    }];
    out.extend(collab.into_iter().map(|(u, bp)| Share {
        party: Party::User(u.to_string()),
        role: "collaborator",
        share_bp: bp,
    }));
    out.push(Share {
        party: Party::Platform,
        role: "platform",
        share_bp: fee,
    });
    out
}

/// Each party's part of `amount` by `shares` (see [`split::split`]).
pub fn parts(amount: i64, shares: &[Share]) -> Vec<i64> {
    let bps: Vec<i64> = shares.iter().map(|s| s.share_bp).collect();
    if bps.iter().sum::<i64>() != WHOLE_BP {
        // Cannot happen with [`shares`]; everything to the first party rather than lose a cent.
        let mut p = vec![0; shares.len()];
        if let Some(first) = p.first_mut() {
            *first = amount;
        }
        return p;
    }
    split::split(amount, &bps)
}

/// The reversals that bring each party from `net` (its credits and reversals so far) to
/// its share of `kept` (what the buyer has not been given back).
pub fn reversals(kept: i64, shares: &[Share], net: &[i64]) -> Vec<i64> {
    parts(kept, shares)
        .iter()
        .zip(net)
        .map(|(target, now)| target - now)
        .collect()
}

/// Credit a paid order's parties, in the running transaction (idempotent: a second call
/// for the same order writes nothing). Resolves to the rows' count.
macro_rules! credit_sale_in {
    ($c:expr, $order:expr, $now:expr) => {
        async {
            use $crate::db::schema::{drop_collaborators, drops, ledger_entries, storefronts};
            let c = $c;
            let (o, now): (&$crate::db::models::order::OrderRow, chrono::NaiveDateTime) =
                ($order, $now);
            let owner: $crate::domain::ids::UserId = storefronts::table
                .find(o.storefront_id)
                .select(storefronts::owner_id)
                .first(c)
                .await?;
            let (fee, collaborators): (i64, Vec<($crate::domain::ids::UserId, i64)>) =
                match o.drop_id {
                    Some(d) => {
                        let fee: i64 = drops::table
                            .find(d)
                            .select(drops::platform_fee_bp)
                            .first(c)
                            .await?;
                        let found: Vec<(Option<$crate::domain::ids::UserId>, i64)> =
                            drop_collaborators::table
                                .filter(drop_collaborators::drop_id.eq(d))
                                .filter(drop_collaborators::status.eq("accepted"))
                                .select((drop_collaborators::user_id, drop_collaborators::share_bp))
                                .load(c)
                                .await?;
                        (
                            fee,
                            found
                                .into_iter()
                                .filter_map(|(u, bp)| u.map(|u| (u, bp)))
                                .collect(),
                        )
                    }
                    None => {
                        let fee: i64 = storefronts::table
                            .find(o.storefront_id)
                            .select(storefronts::platform_fee_bp)
                            .first(c)
                            .await?;
                        (fee, Vec::new())
                    }
                };
            let shares = $crate::db::models::ledger::shares(owner, fee, &collaborators);
            let parts = $crate::db::models::ledger::parts(o.amount_cents, &shares);
            let mut written = 0usize;
            for (s, amount) in shares.iter().zip(parts) {
                written += diesel::insert_into(ledger_entries::table)
                    .values(&$crate::db::models::ledger::LedgerEntry::of(
                        o, s, "sale", amount, now,
                    ))
                    .on_conflict_do_nothing()
                    .execute(c)
                    .await?;
            }
            Ok::<usize, diesel::result::Error>(written)
        }
    };
}
pub(crate) use credit_sale_in;

/// Reverse the parties' shares of `refund_cents` more given back on order `o` (whose
/// `refunded_cents` is what was given back before), in the running transaction: each
/// party's net becomes its share of what the buyer keeps, by the same rule as the sale.
macro_rules! reverse_in {
    ($c:expr, $order:expr, $refund_cents:expr, $now:expr) => {
        async {
            use $crate::db::schema::ledger_entries;
            let c = $c;
            let (o, refund, now): (
                &$crate::db::models::order::OrderRow,
                i64,
                chrono::NaiveDateTime,
            ) = ($order, $refund_cents, $now);
            let rows: Vec<$crate::db::models::ledger::LedgerEntry> = ledger_entries::table
                .filter(ledger_entries::order_id.eq(o.id))
                .select($crate::db::models::ledger::LedgerEntry::as_select())
                .load(c)
                .await?;
            let (shares, net) = $crate::db::models::ledger::standing(&rows);
            let kept = o.amount_cents - o.refunded_cents - refund;
            let rev = $crate::db::models::ledger::reversals(kept.max(0), &shares, &net);
            for (s, amount) in shares.iter().zip(rev) {
                if amount == 0 {
                    continue;
                }
                diesel::insert_into(ledger_entries::table)
                    .values(&$crate::db::models::ledger::LedgerEntry::of(
                        o, s, "refund", amount, now,
                    ))
                    .execute(c)
                    .await?;
            }
            Ok::<(), diesel::result::Error>(())
        }
    };
}
pub(crate) use reverse_in;

/// An order's shares (from its sale credits, in the split's order) and each party's net.
pub fn standing(rows: &[LedgerEntry]) -> (Vec<Share>, Vec<i64>) {
    let mut sales: Vec<&LedgerEntry> = rows.iter().filter(|r| r.kind == "sale").collect();
    let rank = |r: &LedgerEntry| match r.role.as_str() {
        "owner" => 0,
        "collaborator" => 1,
        _ => 2,
    };
    sales.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.party.cmp(&b.party)));
    let shares: Vec<Share> = sales
        .iter()
        .map(|r| Share {
            party: if r.party == "platform" {
                Party::Platform
            } else {
                Party::User(r.party.clone())
            },
            role: match r.role.as_str() {
                "owner" => "owner",
                "collaborator" => "collaborator",
                _ => "platform",
            },
            share_bp: r.share_bp,
        })
        .collect();
    let net = sales
        .iter()
        .map(|s| {
            rows.iter()
                .filter(|r| r.party == s.party)
                .map(|r| r.amount_cents)
                .sum()
        })
        .collect();
    (shares, net)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_keeps_what_the_fee_and_collaborators_leave() {
        let (a, b, o) = (UserId::new(), UserId::new(), UserId::new());
        let s = shares(o, 500, &[(b, 2000), (a, 3500)]);
        let bps: Vec<i64> = s.iter().map(|s| s.share_bp).collect();
        assert_eq!(bps.iter().sum::<i64>(), WHOLE_BP);
        assert_eq!(s[0].role, "owner");
        assert_eq!(s[0].share_bp, 4000);
        assert_eq!(s.last().unwrap().party, Party::Platform);
        // Collaborators in id order, whatever order they were given in.
        assert!(s[1].party < s[2].party);
        // Sale, then refunds of part and the rest: nets follow what was kept.
        let sale = parts(1001, &s);
        assert_eq!(sale.iter().sum::<i64>(), 1001);
        let after_part = reversals(500, &s, &sale);
        let net: Vec<i64> = sale.iter().zip(&after_part).map(|(a, b)| a + b).collect();
        assert_eq!(net, parts(500, &s));
        let after_all = reversals(0, &s, &net);
        let zero: Vec<i64> = net.iter().zip(&after_all).map(|(a, b)| a + b).collect();
        assert_eq!(zero, vec![0; s.len()]);
    }
}

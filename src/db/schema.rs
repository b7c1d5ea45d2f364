//! One schema for both backends. Kept by hand so that every column uses a type SQLite and
//! Postgres read back identically: `Text` ids (UUIDv7), `Timestamp` in UTC, `BigInt` money.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        email_verified_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    email_tokens (id) {
        id -> Text,
        user_id -> Text,
        purpose -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    storefronts (id) {
        id -> Text,
        owner_id -> Text,
        slug -> Text,
        title -> Text,
        bio -> Text,
        avatar_url -> Nullable<Text>,
        theme -> Text,
        links -> Text,
        socials -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        blocks -> Nullable<Text>,
        platform_fee_bp -> BigInt,
    }
}

diesel::table! {
    products (id) {
        id -> Text,
        storefront_id -> Text,
        kind -> Text,
        title -> Text,
        description -> Text,
        price_cents -> BigInt,
        currency -> Text,
        details -> Text,
        status -> Text,
        position -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        sold -> BigInt,
        archived_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(storefronts -> users (owner_id));
diesel::joinable!(products -> storefronts (storefront_id));

diesel::table! {
    drops (id) {
        id -> Text,
        storefront_id -> Text,
        product_id -> Text,
        title -> Text,
        price_cents -> BigInt,
        currency -> Text,
        opens_at -> Timestamp,
        closes_at -> Nullable<Timestamp>,
        per_buyer_limit -> BigInt,
        hold_seconds -> BigInt,
        waiting_room_seconds -> BigInt,
        status -> Text,
        queue_seed -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        raffle_id -> Nullable<Text>,
        platform_fee_bp -> BigInt,
    }
}

diesel::table! {
    drop_variants (id) {
        id -> Text,
        drop_id -> Text,
        name -> Text,
        position -> BigInt,
        stock -> BigInt,
        remaining -> BigInt,
        held -> BigInt,
        sold -> BigInt,
    }
}

diesel::table! {
    drop_buyers (drop_id, buyer_id) {
        drop_id -> Text,
        buyer_id -> Text,
        taken -> BigInt,
    }
}

diesel::table! {
    holds (id) {
        id -> Text,
        drop_id -> Text,
        variant_id -> Text,
        buyer_id -> Text,
        quantity -> BigInt,
        status -> Text,
        expires_at -> Timestamp,
        idempotency_key -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    orders (id) {
        id -> Text,
        hold_id -> Nullable<Text>,
        drop_id -> Nullable<Text>,
        variant_id -> Nullable<Text>,
        buyer_id -> Text,
        quantity -> BigInt,
        amount_cents -> BigInt,
        currency -> Text,
        status -> Text,
        payment_ref -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        product_id -> Text,
        storefront_id -> Text,
        kind -> Text,
        details -> Text,
        fulfilled_at -> Nullable<Timestamp>,
        idempotency_key -> Nullable<Text>,
        refunded_cents -> BigInt,
        restocked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    drop_collaborators (id) {
        id -> Text,
        drop_id -> Text,
        email -> Text,
        user_id -> Nullable<Text>,
        share_bp -> BigInt,
        status -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> Text,
        order_id -> Text,
        drop_id -> Nullable<Text>,
        storefront_id -> Text,
        party -> Text,
        role -> Text,
        kind -> Text,
        share_bp -> BigInt,
        amount_cents -> BigInt,
        currency -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    drop_log (id) {
        id -> Text,
        drop_id -> Text,
        at -> Timestamp,
        kind -> Text,
        buyer_id -> Nullable<Text>,
        variant_id -> Nullable<Text>,
        hold_id -> Nullable<Text>,
        quantity -> Nullable<BigInt>,
        detail -> Text,
    }
}

diesel::joinable!(drop_variants -> drops (drop_id));
diesel::joinable!(holds -> drops (drop_id));
diesel::joinable!(drops -> storefronts (storefront_id));
diesel::joinable!(orders -> drops (drop_id));
diesel::joinable!(orders -> users (buyer_id));
diesel::joinable!(orders -> products (product_id));

diesel::table! {
    tickets (id) {
        id -> Text,
        order_id -> Text,
        product_id -> Text,
        code -> Text,
        checked_in_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    memberships (id) {
        id -> Text,
        product_id -> Text,
        storefront_id -> Text,
        buyer_id -> Text,
        order_id -> Text,
        status -> Text,
        billing_interval -> Text,
        amount_cents -> BigInt,
        currency -> Text,
        payment_method -> Text,
        current_period_end -> Timestamp,
        cancel_at_period_end -> Bool,
        renewal_order_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(tickets -> orders (order_id));
diesel::joinable!(payouts -> users (user_id));

diesel::table! {
    payout_accounts (user_id) {
        user_id -> Text,
        provider -> Text,
        account_ref -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    payouts (id) {
        id -> Text,
        user_id -> Text,
        currency -> Text,
        amount_cents -> BigInt,
        status -> Text,
        provider -> Text,
        account_ref -> Text,
        transfer_ref -> Nullable<Text>,
        failure -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    payout_accounts,
    payouts,
    drop_collaborators,
    ledger_entries,
    refresh_tokens,
    email_tokens,
    drops,
    drop_variants,
    drop_buyers,
    holds,
    orders,
    tickets,
    memberships,
    drop_log,
    payment_events,
    queue_tickets,
    raffles,
    raffle_entrants,
    raffle_tickets,
    raffle_picks,
    analytics_salts,
    analytics_events,
    analytics_rollups,
    analytics_top,
    storefronts,
    products,
    users
);

diesel::table! {
    payment_events (id) {
        id -> Text,
        kind -> Text,
        order_id -> Nullable<Text>,
        received_at -> Timestamp,
    }
}

diesel::table! {
    queue_tickets (id) {
        id -> Text,
        drop_id -> Text,
        buyer_id -> Text,
        variant_id -> Text,
        quantity -> BigInt,
        state -> Text,
        position -> Nullable<BigInt>,
        hold_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    raffles (id) {
        id -> Text,
        storefront_id -> Nullable<Text>,
        created_by -> Nullable<Text>,
        title -> Text,
        description -> Text,
        prizes -> Text,
        alternates -> BigInt,
        entry -> Text,
        tickets_per_dollar -> BigInt,
        opens_at -> Timestamp,
        closes_at -> Timestamp,
        status -> Text,
        month -> Nullable<Text>,
        seed -> Text,
        commitment -> Text,
        entrants -> BigInt,
        tickets -> BigInt,
        entries_digest -> Nullable<Text>,
        entries_blob -> Nullable<Text>,
        result -> Nullable<Text>,
        drop_id -> Nullable<Text>,
        claim_seconds -> BigInt,
        closed_at -> Nullable<Timestamp>,
        drawn_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    raffle_entrants (raffle_id, user_id) {
        raffle_id -> Text,
        user_id -> Text,
        pseudonym -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    raffle_tickets (id) {
        id -> Text,
        raffle_id -> Text,
        user_id -> Text,
        kind -> Text,
        tickets -> BigInt,
        order_id -> Nullable<Text>,
        note -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    raffle_picks (raffle_id, position) {
        raffle_id -> Text,
        position -> BigInt,
        kind -> Text,
        rank -> BigInt,
        user_id -> Text,
        pseudonym -> Text,
        tickets -> BigInt,
        prize -> Text,
        state -> Text,
        hold_id -> Nullable<Text>,
        offered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    analytics_salts (day) {
        day -> Text,
        salt -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    analytics_events (id) {
        id -> Text,
        storefront_id -> Text,
        at -> Timestamp,
        kind -> Text,
        visitor -> BigInt,
        path -> Text,
        referrer -> Text,
        utm_source -> Text,
        utm_medium -> Text,
        utm_campaign -> Text,
        device -> Text,
        country -> Text,
        bot -> Bool,
        amount_cents -> BigInt,
        ref_id -> Text,
        count -> BigInt,
    }
}

diesel::table! {
    analytics_rollups (storefront_id, grain, bucket) {
        storefront_id -> Text,
        grain -> Text,
        bucket -> Timestamp,
        pageviews -> BigInt,
        clicks -> BigInt,
        bots -> BigInt,
        holds -> BigInt,
        checkouts -> BigInt,
        purchases -> BigInt,
        revenue_cents -> BigInt,
        visitors -> BigInt,
        sketch -> Binary,
        version -> BigInt,
    }
}

diesel::table! {
    analytics_top (storefront_id, day, dim, value) {
        storefront_id -> Text,
        day -> Timestamp,
        dim -> Text,
        value -> Text,
        hits -> BigInt,
    }
}

diesel::table! {
    mail_queue (id) {
        id -> Text,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Nullable<Text>,
        created_at -> Timestamp,
        attempts -> BigInt,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
    }
}

//! `TestApp`: start the real server on port 0 against a fresh store and talk to it.

use std::collections::HashMap;
use std::net::TcpListener;

use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use livedrop::config::Config;
use livedrop::state::AppState;
use serde_json::Value;

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub state: AppState,
    /// Keeps the embedded mode's data directory alive for the test.
    pub dir: tempfile::TempDir,
    handle: actix_web::dev::ServerHandle,
}

/// The Postgres server tests use; each test gets a database of its own on it.
pub fn pg_base() -> String {
    std::env::var("TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A fresh, empty database on the test Postgres; returns its URL.
pub async fn fresh_pg_database() -> String {
    let name = format!("livedrop_t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = diesel_async::AsyncPgConnection::establish(&format!("{}/postgres", pg_base()))
        .await
        .expect("postgres is not reachable (these tests need it)");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    format!("{}/{name}", pg_base())
}

pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123";

impl TestApp {
    /// Embedded mode (SQLite in a temp dir), rate limits off.
    pub async fn sqlite() -> TestApp {
        Self::with(&[("RATE_LIMITS", "off")]).await
    }

    /// Cluster-mode store (a fresh Postgres database), rate limits off.
    pub async fn postgres() -> TestApp {
        let url = fresh_pg_database().await;
        Self::with(&[("RATE_LIMITS", "off"), ("DATABASE_URL", &url)]).await
    }

    /// Any configuration: `vars` are environment variables as the binary would read them.
    pub async fn with(vars: &[(&str, &str)]) -> TestApp {
        Self::start(vars, true).await
    }

    /// A cluster-mode node started without `--migrate` (embedded mode always migrates).
    pub async fn unmigrated(vars: &[(&str, &str)]) -> TestApp {
        Self::start(vars, false).await
    }

    async fn start(vars: &[(&str, &str)], migrate: bool) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let mut env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.entry("DATA_DIR".into())
            .or_insert_with(|| dir.path().to_string_lossy().into_owned());
        env.entry("SEED_DEMO".into())
            .or_insert_with(|| "false".into());
        env.entry("JWT_SECRET".into())
            .or_insert_with(|| TEST_SECRET.into());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        env.entry("PUBLIC_URL".into())
            .or_insert_with(|| format!("http://{addr}"));
        let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        let state = livedrop::server::prepare(config, migrate).await.unwrap();
        let server = livedrop::server::serve(state.clone(), listener, 2).unwrap();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        TestApp {
            url: format!("http://{addr}"),
            client: reqwest::Client::new(),
            state,
            dir,
            handle,
        }
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut r = self.client.get(self.at(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        into(r.send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, token, body).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, token, body).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.send(reqwest::Method::DELETE, path, token, Value::Null)
            .await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        let mut r = self.client.request(method, self.at(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if !body.is_null() {
            r = r.json(&body);
        }
        into(r.send().await.unwrap()).await
    }

    /// POST a provider event to the payment webhook with this `Stripe-Signature`.
    pub async fn post_webhook(&self, body: &str, signature: &str) -> (u16, Value) {
        let r = self
            .client
            .post(self.at("/api/payments/webhook"))
            .header("content-type", "application/json")
            .header("stripe-signature", signature)
            .body(body.to_string());
        into(r.send().await.unwrap()).await
    }

    /// POST a raw body with a content type.
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        ctype: &str,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut r = self
            .client
            .post(self.at(path))
            .header("content-type", ctype)
            .body(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        into(r.send().await.unwrap()).await
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// Status and JSON body (`Value::Null` for an empty body, a string for a non-JSON one).
pub async fn into(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// The stable error code of an error body.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no code>")
}

/// A user of `role` ("buyer" | "creator" | "admin") with a verified email, written straight
/// to the store, and an access token for them. For tests about something other than
/// sign-up; the sign-up flow itself is tested through the API in `auth.rs`.
pub async fn user_with_token(app: &TestApp, role: &str) -> (livedrop::domain::ids::UserId, String) {
    user_with_token_verified(app, role, true).await
}

pub async fn user_with_token_verified(
    app: &TestApp,
    role: &str,
    verified: bool,
) -> (livedrop::domain::ids::UserId, String) {
    use livedrop::db::models::{now, user};
    let id = livedrop::domain::ids::UserId::new();
    let t = now();
    let u = user::User {
        id,
        email: format!("{}-{}@test.livedrop.local", role, id.0.simple()),
        // Not a valid hash: these users never log in with a password.
        password_hash: "!".into(),
        role: role.into(),
        email_verified_at: verified.then_some(t),
        created_at: t,
        updated_at: t,
    };
    user::insert(&app.state.store, &u).await.unwrap();
    let role = livedrop::auth::Role::parse(role).unwrap();
    let token = app
        .state
        .jwt
        .issue(id, role, verified, chrono::Utc::now().timestamp())
        .unwrap();
    (id, token)
}

/// A storefront of `owner` with one published product, written straight to the store
/// (the storefront API has its own tests). Returns (storefront id, product id).
pub async fn storefront_with_product(
    app: &TestApp,
    owner: livedrop::domain::ids::UserId,
) -> (
    livedrop::domain::ids::StorefrontId,
    livedrop::domain::ids::ProductId,
) {
    livedrop::demo::shop(&app.state.store, owner).await.unwrap()
}

/// A creator selling a 7.00 USD download through the API, on a storefront of theirs
/// (`demo::shop`): (creator's id, token, storefront id, product id).
pub async fn selling_a_download(
    app: &TestApp,
) -> (
    livedrop::domain::ids::UserId,
    String,
    livedrop::domain::ids::StorefrontId,
    String,
) {
    let (id, creator) = user_with_token(app, "creator").await;
    let (sf, _) = livedrop::demo::shop(&app.state.store, id).await.unwrap();
    let (s, p) = app
        .post(
            &format!("/api/storefronts/{sf}/products"),
            Some(&creator),
            serde_json::json!({"kind": "digital", "title": "Zine", "price_cents": 700, "currency": "USD",
                "download_url": "https://files.example.com/zine.pdf"}),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let product = p["id"].as_str().unwrap().to_string();
    let (s, b) = app
        .post(
            &format!("/api/products/{product}/publish"),
            Some(&creator),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    (id, creator, sf, product)
}

/// A new buyer buys `product` with the test card, paid at once: (buyer's token, order id).
pub async fn bought(app: &TestApp, product: &str) -> (String, String) {
    let (_, buyer) = user_with_token(app, "buyer").await;
    let (s, o) = app
        .post(
            &format!("/api/products/{product}/checkout"),
            Some(&buyer),
            serde_json::json!({"card": "4242424242424242"}),
        )
        .await;
    assert_eq!((s, o["status"].as_str()), (201, Some("paid")), "{o}");
    (buyer, o["order_id"].as_str().unwrap().to_string())
}

/// Poll `check` until it returns `Some`, for at most `secs` seconds. For state that another
/// task changes on its own schedule (timers); the deadline only bounds a failing test.
pub async fn eventually<T, F, Fut>(secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "condition not reached in {secs}s"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A published drop of the creator (`token`) on storefront `sf`, open now, one variant of
/// `stock` units at `price` cents. Returns (drop id, variant id).
pub async fn live_drop(
    app: &TestApp,
    token: &str,
    sf: &str,
    product: &str,
    price: i64,
    stock: i64,
) -> (String, String) {
    let (s, b) = app
        .post("/api/drops", Some(token), serde_json::json!({"storefront_id": sf, "product_id": product,
            "title": "Test drop", "price_cents": price, "currency": "USD",
            "variants": [{"name": "One", "stock": stock}], "opens_at": app.state.clock.now().and_utc(),
            "waiting_room_seconds": 0, "per_buyer_limit": 5}))
        .await;
    assert_eq!(s, 201, "{b}");
    let drop = b["id"].as_str().unwrap().to_string();
    let variant = b["variants"][0]["id"].as_str().unwrap().to_string();
    let (s, b) = app
        .post(
            &format!("/api/drops/{drop}/publish"),
            Some(token),
            Value::Null,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    (drop, variant)
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A socket to the app, authenticated as `token`'s user when given.
pub async fn socket(app: &TestApp, token: Option<&str>) -> Ws {
    socket_at(&app.url, token).await
}

/// A socket to the server at `base` (`http://host:port`), authenticated when `token` is given.
pub async fn socket_at(base: &str, token: Option<&str>) -> Ws {
    use futures_util::SinkExt;
    let url = base.replace("http://", "ws://") + "/ws";
    let mut ws = tokio_tungstenite::connect_async(url).await.unwrap().0;
    if let Some(t) = token {
        let auth = serde_json::json!({"op": "auth", "token": t}).to_string();
        ws.send(tokio_tungstenite::tungstenite::Message::text(auth))
            .await
            .unwrap();
        let ack = next_frame(&mut ws, std::time::Duration::from_secs(10)).await;
        assert_eq!(ack["op"].as_str(), Some("auth"), "{ack}");
    }
    ws
}

/// The next text frame, as JSON; fails the test if none comes `within`.
pub async fn next_frame(ws: &mut Ws, within: std::time::Duration) -> Value {
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("no frame in time")
            .expect("socket closed")
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

/// The `.eml` files of an embedded-mode app's outbox (oldest first), read once its mail
/// queue is empty: every mail accepted so far has been delivered (mail is sent by the
/// node's sender, after the request that queued it was answered).
pub async fn outbox_mails(app: &TestApp) -> Vec<String> {
    eventually(10, || async {
        let left = livedrop::db::models::mail::count_unsent(&app.state.store)
            .await
            .unwrap();
        (left == 0).then_some(())
    })
    .await;
    let mut files: Vec<_> = std::fs::read_dir(app.dir.path().join("outbox"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// Every `.rs` file under these folders of the project (for checks on the source itself).
pub fn source_files(dirs: &[&str]) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for d in dirs {
        walk(&root.join(d), &mut files);
    }
    files
}

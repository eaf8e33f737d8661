//! No request takes the server down (issue 13): each attack of the issue, replayed in small,
//! with what must hold instead. Every one of these failed on the server before the fix.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use etown_atlas::config::ServerConfig;
use etown_atlas::http::server::ConnectionLimits;
use etown_atlas::http::WorkHook;
use etown_atlas::ingest::LoadOptions;
use serde_json::json;

use crate::common::*;

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// 1. A literal reaching 1e200 used to loop in its raster grid towards isize::MAX.
#[tokio::test]
async fn huge_coordinates_are_refused_naming_the_value() {
    let app = shipped_app();
    let filter = r#"{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Polygon","coordinates":[[[0,0],[1e200,0],[1e200,1e200],[0,0]]]}]}"#;
    let uri = format!(
        "/collections/spatial-carriers/nearest?lon=116.5&lat=39.8&filter-lang=cql2-json&filter={}",
        enc(filter)
    );
    let p = get(&app, &uri).await.problem(400);
    assert_eq!(p["code"], "invalid_geometry");
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("1e200") && detail.contains("CRS84"),
        "{detail}"
    );
    // The same with 200-digit decimals in CQL2 text: named short, not echoed whole.
    let big = format!("1{}", "0".repeat(199));
    let text = format!("S_INTERSECTS(geometry, POLYGON((0 0, {big} 0, {big} {big}, 0 0)))");
    let uri = format!("/collections/spatial-carriers/items?filter={}", enc(&text));
    let p = get(&app, &uri).await.problem(400);
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.len() < 300 && detail.contains("1e199"), "{detail}");
    // BBOX literals and bbox parameters are held to the same range.
    let uri = format!(
        "/collections/spatial-carriers/items?filter={}",
        enc("S_INTERSECTS(geometry, BBOX(0, 0, 500, 1))")
    );
    get(&app, &uri).await.problem(400);
}

/// 2. `layers` named 1,000 times held 1,000 match lists before the first byte.
#[tokio::test]
async fn an_area_export_names_each_layer_once() {
    let app = shipped_app();
    let area = json!({"type": "Polygon", "coordinates": [[[116.4, 39.7], [116.7, 39.7], [116.7, 39.9], [116.4, 39.9], [116.4, 39.7]]]});
    let body = json!({"layers": vec!["spatial-carriers"; 1000], "area": area});
    let p = request(&app, post_json("/export", body.to_string()))
        .await
        .problem(400);
    assert_eq!(p["parameter"], "layers");
    let body = json!({"layers": ["spatial-carriers", "no-such-layer"], "area": area});
    request(&app, post_json("/export", body.to_string()))
        .await
        .problem(404);
    // A filter too large to compile is a 400 before the download starts, not a cut file.
    let ring: Vec<[f64; 2]> = (0..=100_001)
        .map(|i| {
            let a = std::f64::consts::TAU * (i % 100_001) as f64 / 100_001.0;
            [116.5 + 0.05 * a.cos(), 39.8 + 0.05 * a.sin()]
        })
        .collect();
    let body =
        json!({"layers": ["spatial-carriers"], "area": {"type": "Polygon", "coordinates": [ring]}});
    let r = request(&app, post_json("/export", body.to_string())).await;
    assert_eq!(r.problem(400)["code"], "filter_too_complex");
}

fn limits(header_read: Duration, write: Duration, max_connections: usize) -> ConnectionLimits {
    ConnectionLimits {
        max_connections,
        max_connections_per_address: max_connections,
        header_read_timeout: header_read,
        write_timeout: write,
        shutdown_grace: Duration::from_secs(1),
    }
}

/// Reads from a fresh connection after sending `request`: whether the server closed it within
/// `wait`, and what it sent.
async fn closes_within(
    addr: std::net::SocketAddr,
    request: &[u8],
    wait: Duration,
) -> (bool, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let closed = tokio::time::timeout(wait, s.read_to_end(&mut out))
        .await
        .is_ok();
    (closed, out)
}

/// 3. Idle connections stayed open past 150 s; twenty thousand exhausted the descriptors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_idle_connections_are_closed() {
    let addr = serve_bounded(
        shipped_app(),
        limits(Duration::from_secs(1), Duration::from_secs(30), 64),
    )
    .await;
    // Headers that never finish.
    let (closed, _) = closes_within(
        addr,
        b"GET /health HTTP/1.1\r\nHost: x\r\n",
        Duration::from_secs(10),
    )
    .await;
    assert!(closed, "a half-sent request head keeps its connection");
    // A kept-alive connection with nothing more to ask.
    let (closed, out) = closes_within(
        addr,
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(10),
    )
    .await;
    assert!(closed, "an idle keep-alive connection stays open");
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_get_a_503_problem() {
    use tokio::io::AsyncWriteExt;
    let addr = serve_bounded(
        shipped_app(),
        limits(Duration::from_secs(30), Duration::from_secs(30), 2),
    )
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    // The accept loop sees the two before the third.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (closed, out) = closes_within(
        addr,
        b"GET /collections HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    let text = String::from_utf8_lossy(&out);
    assert!(closed && text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(
        text.contains("application/problem+json") && text.contains("too_many_connections"),
        "{text}"
    );
    // A load balancer's probe is still answered, on the few connections kept for it, and the
    // connection is closed after it.
    let (closed, out) = closes_within(
        addr,
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    let text = String::from_utf8_lossy(&out);
    assert!(closed && text.starts_with("HTTP/1.1 200"), "{text}");
    drop(held);
    // Once they close, a new connection is served in full.
    let mut served = false;
    for _ in 0..50 {
        let (_, out) = closes_within(
            addr,
            b"GET /collections HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            Duration::from_secs(5),
        )
        .await;
        if out.starts_with(b"HTTP/1.1 200") {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "the freed connections are not given back");
}

/// 4. Four clients that never read held the four download slots for as long as they liked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_gives_its_slot_back() {
    use tokio::io::AsyncWriteExt;
    let config = ServerConfig {
        max_concurrent_heavy: 1,
        queue_wait: Duration::from_secs(60),
        ..ServerConfig::default()
    };
    // Enough carriers that the download fills the socket buffers many times over.
    let (app, _dir) = synth_app(30_000, config, None);
    let addr = serve_bounded(
        app,
        limits(Duration::from_secs(10), Duration::from_secs(1), 64),
    )
    .await;
    let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(
            b"GET /collections/spatial-carriers/export?f=geojson HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await
        .unwrap();
    // It takes the one slot and never reads; statistics need the slot too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, out) = closes_within(
        addr,
        b"GET /collections/spatial-carriers/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(120),
    )
    .await;
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("HTTP/1.1 200"),
        "{}",
        &text[..text.len().min(300)]
    );
    drop(stalled);
}

/// 5. The timeout answered 503 while the work went on for minutes, holding its slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_past_its_deadline_stops_and_frees_its_slot() {
    let stopped_early = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&stopped_early);
    // Work that would take a minute, checking its budget as every scan does.
    let hook: WorkHook = Arc::new(move |budget| {
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if budget.check().is_err() {
                seen.store(true, Ordering::SeqCst);
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let config = ServerConfig {
        request_timeout: Duration::from_millis(300),
        max_concurrent_queries: 1,
        queue_wait: Duration::from_secs(30),
        ..ServerConfig::default()
    };
    let app = shipped_app_with(config, Some(hook));
    let p = get(&app, "/collections/spatial-carriers/items?limit=5")
        .await
        .problem(503);
    assert_eq!(p["code"], "timeout");
    // The one slot is free again for the next request (which also runs out of time, but gets
    // the slot instead of waiting a minute for it).
    let p = get(&app, "/collections/spatial-carriers/items?limit=5")
        .await
        .problem(503);
    assert_eq!(p["code"], "timeout");
    assert!(stopped_early.load(Ordering::SeqCst));
}

/// 6. Nearest, search, what's here and exports ran on the async workers: two slow ones
/// stopped `/health`.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn slow_work_never_blocks_the_async_worker() {
    let hook: WorkHook = Arc::new(|_| std::thread::sleep(Duration::from_millis(1500)));
    let app = shipped_app_with(ServerConfig::default(), Some(hook));
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for path in [
        "/collections/spatial-carriers/nearest?lon=116.5&lat=39.8",
        "/search?q=rocket",
        "/whats-here?lon=116.5&lat=39.8",
    ] {
        let (app, order) = (app.clone(), Arc::clone(&order));
        tasks.push(tokio::spawn(async move {
            assert_eq!(get(&app, path).await.status, 200, "{path}");
            order.lock().unwrap().push(path);
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(get(&app, "/health").await.status, 200);
    order.lock().unwrap().push("/health");
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        order.lock().unwrap()[0],
        "/health",
        "{:?}",
        order.lock().unwrap()
    );
}

/// 7. Over HTTP/1.0 a cut download looked complete; a writer failure was a 200 and an empty file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_are_complete_or_visibly_broken() {
    let addr = serve_bounded(shipped_app(), default_limits()).await;
    let out = raw_exchange(
        addr,
        b"GET /collections/spatial-carriers/export?f=geojson HTTP/1.0\r\nHost: x\r\n\r\n",
        Duration::from_secs(30),
    )
    .await;
    let text = String::from_utf8_lossy(&out);
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("an HTTP/1.0 download has no length: {head}"));
    assert_eq!(body.len(), length);
    let features = serde_json::from_str::<serde_json::Value>(body).unwrap()["features"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(features, 58);
    // HTTP/1.1 is chunked, so a cut shows as a missing last chunk.
    let out = raw_exchange(
        addr,
        b"GET /collections/spatial-carriers/export?f=csv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(30),
    )
    .await;
    assert!(String::from_utf8_lossy(&out)
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked"));

    // A Shapefile holds one kind of geometry: this layer has a point and a polygon, so the
    // writer fails before its first byte, and the answer says so.
    let app = fixture_app("hostile");
    for uri in [
        "/collections/mixed/export?f=shp",
        "/collections/mixed/export?f=shp&bom=false",
    ] {
        let p = get(&app, uri).await.problem(500);
        assert_eq!(p["code"], "export_failed");
    }
}

/// 8. The documented 4 MiB body limit was 2 MiB, and a real Content-Length over it got a
/// plain-text 413 without the security headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_limit_is_the_documented_one_and_answers_as_a_problem() {
    let app = shipped_app();
    // 3 MiB: under the limit, so the body is read (and refused for what it says).
    let pad = "x".repeat(3 * 1024 * 1024);
    let body = json!({"filter": "floor_area_m2 > 0", "padding": pad}).to_string();
    let r = request(
        &app,
        post_json("/collections/spatial-carriers/search", body),
    )
    .await;
    assert_eq!(r.problem(400)["code"], "unknown_parameter");
    // Over it, on a socket, with the length announced and the body never sent.
    let addr = serve_bounded(shipped_app(), default_limits()).await;
    let out = raw_exchange(
        addr,
        b"POST /collections/spatial-carriers/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{",
        Duration::from_secs(10),
    )
    .await;
    let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 413"), "{text}");
    assert!(
        text.contains("content-type: application/problem+json"),
        "{text}"
    );
    assert!(
        text.contains("content-security-policy:")
            && text.contains("x-content-type-options: nosniff"),
        "{text}"
    );
    // The setting is honoured.
    let small = shipped_app_with(
        ServerConfig {
            max_body_bytes: 1000,
            ..ServerConfig::default()
        },
        None,
    );
    let r = request(
        &small,
        post_json(
            "/collections/spatial-carriers/search",
            json!({"filter": "x".repeat(2000)}).to_string(),
        ),
    )
    .await;
    r.problem(413);
}

/// 9. The response cache took 50,000 answers that differed only in `Accept-Language`.
#[tokio::test]
async fn headers_that_do_not_change_an_answer_do_not_multiply_it_in_the_cache() {
    let app = shipped_app();
    let ask = |lang: &str, enc: &str| {
        get_with(
            "/collections/spatial-carriers/items?limit=3",
            &[("accept-language", lang), ("accept-encoding", enc)],
        )
    };
    let first = request(&app, ask("zh-CN", "gzip, br")).await;
    assert_eq!(first.headers["x-cache"], "miss");
    for (lang, enc) in [
        ("zh-TW,zh;q=0.9", "br, gzip"),
        ("zh;q=0.1", "gzip;q=1.0, br;q=1"),
    ] {
        let again = request(&app, ask(lang, enc)).await;
        assert_eq!(again.headers["x-cache"], "hit", "{lang} / {enc}");
    }
}

/// 10. CQL2 text parses took turns under one lock: three 2 MB filters made a simple one wait.
#[test]
fn a_small_filter_parses_while_a_large_one_does() {
    use etown_atlas::query::filter::parse;
    use etown_atlas::query::{FilterLang, FilterSpec};
    let points: Vec<String> = (0..100_000)
        .map(|i| format!("{} {}", 116.0 + i as f64 * 1e-6, 39.8))
        .collect();
    let large = FilterSpec {
        text: format!("S_INTERSECTS(geometry, LINESTRING({}))", points.join(", ")),
        lang: FilterLang::Cql2Text,
    };
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let big = std::thread::spawn(move || {
        let r = parse(&large);
        flag.store(true, Ordering::SeqCst);
        r.is_ok()
    });
    std::thread::sleep(Duration::from_millis(50));
    let small = FilterSpec {
        text: "floor_area_m2 > 3000".into(),
        lang: FilterLang::Cql2Text,
    };
    assert!(parse(&small).is_ok());
    assert!(
        !done.load(Ordering::SeqCst),
        "the small parse waited for the large one"
    );
    assert!(big.join().unwrap());
}

/// The small items of the issue, each with the answer it gets now.
#[tokio::test]
async fn small_abuses_get_clear_answers() {
    let app = shipped_app();
    // Any method on a static path was the page.
    for method in ["DELETE", "PUT", "CONNECT"] {
        let r = request(
            &app,
            Request::builder()
                .method(method)
                .uri("/index.html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        r.problem(405);
        assert_eq!(r.headers["allow"], "GET, HEAD", "{method}");
    }
    // A gzip body was read as JSON (400); it is not decoded, so 415.
    let mut req = post_json("/collections/spatial-carriers/search", "{}".into());
    req.headers_mut()
        .insert("content-encoding", "gzip".parse().unwrap());
    request(&app, req).await.problem(415);
    // The media type was matched by prefix.
    let mut req = post_json("/collections/spatial-carriers/search", "{}".into());
    req.headers_mut()
        .insert("content-type", "application/jsonp".parse().unwrap());
    request(&app, req).await.problem(415);
    // An invalid escape became U+FFFD.
    let p = get(&app, "/collections/spatial-carriers/items?name_en=%ff")
        .await
        .problem(400);
    assert_eq!(p["parameter"], "name_en");
    get(&app, "/collections/spatial-carriers/items?filter=100%")
        .await
        .problem(400);
    // A repeated member was read as its last value.
    let r = request(
        &app,
        post_json(
            "/collections/spatial-carriers/search",
            r#"{"limit": 1, "limit": 2}"#.into(),
        ),
    )
    .await;
    assert!(r.problem(400)["detail"].as_str().unwrap().contains("twice"));
    // A 309-digit number was echoed whole.
    let huge = "9".repeat(309);
    let p = get(
        &app,
        &format!("/collections/spatial-carriers/items?offset={huge}"),
    )
    .await
    .problem(400);
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.len() < 200 && detail.contains("309 characters"),
        "{detail}"
    );
    // Full-width letters are folded (NFKC); a lone combining mark is nothing to search for.
    let found = get(
        &app,
        &format!("/search?q={}", enc("ＲＯＣＫＥＴ　ＳＴＲＥＥＴ")),
    )
    .await
    .json();
    assert!(found["numberReturned"].as_u64().unwrap() > 0, "{found}");
    get(&app, &format!("/search?q={}", enc("\u{301}")))
        .await
        .problem(400);
    // `q=0` refuses a type.
    let r = request(
        &app,
        get_with(
            "/collections/spatial-carriers/export",
            &[("accept", "application/geo+json;q=0, text/csv")],
        ),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.content_type().starts_with("text/csv"));
}

/// CSV cells that a spreadsheet would run as formulas start with a quote (OWASP).
#[tokio::test]
async fn csv_cells_cannot_be_formulas() {
    let app = fixture_app("hostile");
    let r = get(&app, "/collections/mixed/export?f=csv").await;
    assert_eq!(r.status, 200);
    let mut rows = csv::Reader::from_reader(r.bytes.as_slice());
    let headers = rows.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = rows.records().map(|r| r.unwrap()).collect();
    assert_eq!(&records[0][col("id")], "'=1+1");
    assert!(records[0][col("name")].starts_with("'=HYPERLINK"));
    assert_eq!(&records[0][col("note")], "'-2+3");
    // Numbers stay numbers.
    assert_eq!(&records[0][col("count")], "-4");
    assert_eq!(&records[1][col("name")], "'@SUM(A1)");
    assert_eq!(&records[1][col("note")], "'\tindented");
}

/// The loops that can run long stop once the budget is spent.
#[test]
fn every_long_loop_honours_the_budget() {
    use etown_atlas::query::stats::StatsSpec;
    use etown_atlas::query::{
        compile, exec, names, nearest, whats_here, Budget, Exceeded, FeatureQuery,
    };
    let dir = synth_dir(20_000);
    let catalog = catalog_for(dir.path(), LoadOptions::default());
    let layer = catalog.layer("spatial-carriers").unwrap();
    let spent = Budget::within(Duration::ZERO);
    let q = FeatureQuery {
        filter: Some(etown_atlas::query::FilterSpec {
            text: "floor_area_m2 > 0".into(),
            lang: etown_atlas::query::FilterLang::Cql2Text,
        }),
        ..FeatureQuery::default()
    };
    let plan = compile(layer, &q).unwrap();
    assert_eq!(exec::matching(layer, &plan, &spent), Err(Exceeded));
    let all: Vec<usize> = (0..layer.len()).collect();
    let spec = StatsSpec::resolve(layer, Some("industry"), None, catalog.vocabularies()).unwrap();
    assert_eq!(spec.tally(layer, &all, &spent).err(), Some(Exceeded));
    let p = geo::Point::new(116.5, 39.8);
    assert_eq!(
        nearest::nearest(layer, p, 5, |_| false, &spent),
        Err(Exceeded)
    );
    assert_eq!(names::search(layer, "carrier", &spent), Err(Exceeded));
    assert_eq!(
        whats_here::features_at(&catalog, 116.5, 39.8, 5000.0, &spent),
        Err(Exceeded)
    );
    // With time to spare, each answers.
    let ample = Budget::unlimited();
    assert_eq!(
        exec::matching(layer, &plan, &ample).unwrap().len(),
        layer.len()
    );
}

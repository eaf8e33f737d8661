//! The API document and the server agree, because both come from each route's parameter
//! declaration; these tests hold them to it from the outside, and check that every answer, the
//! errors made below the routes included, carries the security headers and a problem body.

use std::time::Duration;

use serde_json::Value;

use crate::common::*;

/// Every query parameter the document lists for a GET operation is one the server takes (it
/// may find the value wrong, but never calls the parameter unknown), and a parameter the
/// document does not list is refused as unknown.
#[tokio::test]
async fn every_documented_parameter_is_accepted_and_no_other() {
    let app = shipped_app();
    let doc = get(&app, "/api").await.json();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(op) = item.get("get") else { continue };
        if path.contains('{') {
            continue; // path parameters: covered by the collection paths, written out per id
        }
        let params: Vec<&Value> = op["parameters"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        for p in params.iter().filter(|p| p["in"] == "query") {
            let name = p["name"].as_str().unwrap();
            let r = get(&app, &format!("{path}?{name}=1")).await;
            if r.status.is_client_error() {
                let problem = r.json();
                assert_ne!(
                    problem["code"], "unknown_parameter",
                    "{path} documents {name} but refuses it"
                );
            }
            checked += 1;
        }
        // The required ones given, so that only the undocumented one is wrong.
        let required: String = params
            .iter()
            .filter(|p| p["in"] == "query" && p["required"] == true)
            .map(|p| {
                let name = p["name"].as_str().unwrap();
                let value = match name {
                    "lon" => "116.5",
                    "lat" => "39.8",
                    _ => "rocket",
                };
                format!("{name}={value}&")
            })
            .collect();
        let r = get(
            &app,
            &format!("{path}?{required}not_a_documented_parameter=1"),
        )
        .await;
        // An operation that needs a credential answers its absence first (401, whatever the
        // parameters); `admin` tests its parameters with one.
        let expected = if op.get("security").is_some() {
            ("unauthorized", 401)
        } else {
            ("unknown_parameter", 400)
        };
        assert_eq!(
            r.problem(expected.1)["code"],
            expected.0,
            "{path} takes an undocumented parameter"
        );
    }
    assert!(checked > 100, "only {checked} parameters checked");
}

/// The members a POST body may have are those the document lists, and no others.
#[tokio::test]
async fn every_documented_body_member_is_accepted_and_no_other() {
    let app = shipped_app();
    let doc = get(&app, "/api").await.json();
    for path in [
        "/collections/spatial-carriers/search",
        "/collections/spatial-carriers/stats",
    ] {
        let schema =
            &doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"];
        let members = schema["properties"].as_object().unwrap();
        assert!(
            members.contains_key("filter") && members.contains_key("f"),
            "{path}: {members:?}"
        );
        for name in members.keys() {
            let body = serde_json::json!({ name: "1" }).to_string();
            let r = request(&app, post_json(path, body)).await;
            if r.status.is_client_error() {
                assert_ne!(
                    r.json()["code"],
                    "unknown_parameter",
                    "{path} documents {name} but refuses it"
                );
            }
        }
        let r = request(
            &app,
            post_json(path, r#"{"undocumented_member": 1}"#.into()),
        )
        .await;
        assert_eq!(r.problem(400)["code"], "unknown_parameter");
    }
}

/// Errors made below the routes (an unknown path, a wrong method, a long URL, a large body, a
/// timeout, the connection cap) are problems with the security headers, over a real socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_a_problem_with_the_security_headers() {
    let hook: etown_atlas::http::WorkHook =
        std::sync::Arc::new(|_| std::thread::sleep(Duration::from_millis(800)));
    let config = etown_atlas::config::ServerConfig {
        request_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let addr = serve_bounded(shipped_app_with(config, Some(hook)), default_limits()).await;
    let long = format!(
        "GET /collections?f={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "x".repeat(17 * 1024)
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("404", b"GET /nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("405", b"DELETE /collections HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("414", long.into_bytes()),
        ("413", b"POST /export HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\nConnection: close\r\n\r\n".to_vec()),
        ("400", b"GET /health?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        ("503", b"GET /collections/spatial-carriers/items HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
    ];
    for (status, req) in cases {
        let out = raw_exchange(addr, &req, Duration::from_secs(10)).await;
        let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
        assert!(
            text.starts_with(&format!("http/1.1 {status}")),
            "{status}: {text}"
        );
        for header in [
            "content-type: application/problem+json",
            "content-security-policy: default-src 'self'",
            "x-content-type-options: nosniff",
            "referrer-policy: no-referrer",
        ] {
            assert!(text.contains(header), "{status} lacks {header}: {text}");
        }
    }
}

/// The problem contract is one table: the document lists every code with its English and
/// Chinese title, and the problems the server sends (in English and in Chinese) use exactly
/// those codes and titles.
#[tokio::test]
async fn every_problem_code_is_documented_in_both_languages() {
    use etown_atlas::http::problem::TABLE;
    let app = shipped_app();
    let doc = get(&app, "/api").await.json();
    let schema = &doc["components"]["schemas"]["Problem"];
    let codes: Vec<&str> = schema["properties"]["code"]["enum"]
        .as_array()
        .expect("the code is an enum")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(codes, TABLE.iter().map(|e| e.code).collect::<Vec<_>>());
    let listed = schema["x-problems"].as_array().unwrap();
    assert_eq!(listed.len(), TABLE.len());
    let is_chinese = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    for p in listed {
        assert!(
            p["title"]
                .as_str()
                .is_some_and(|t| !t.is_empty() && t.is_ascii()),
            "{p}"
        );
        assert!(p["title_zh"].as_str().is_some_and(is_chinese), "{p}");
    }
    let titles = |code: &str| {
        let p = listed
            .iter()
            .find(|p| p["code"] == code)
            .unwrap_or_else(|| panic!("{code} is not documented"));
        (p["title"].clone(), p["title_zh"].clone())
    };
    for (uri, status) in [
        ("/collections?x=1", 400),
        ("/collections/spatial-carriers/items?bbox=1,2", 400),
        (
            "/collections/spatial-carriers/items?filter=status%20%3D",
            400,
        ),
        (
            "/collections/spatial-carriers/items?filter=nope%20%3D%201",
            400,
        ),
        ("/collections/nothing/items", 404),
        ("/collections/spatial-carriers/items/no-such-feature", 404),
        ("/nothing-here", 404),
        ("/collections/spatial-carriers/items?f=docx", 400),
    ] {
        let en = request(&app, get_with(uri, &[])).await.problem(status);
        let code = en["code"].as_str().unwrap();
        let (title, title_zh) = titles(code);
        assert_eq!(en["title"], title, "{uri}");
        assert_eq!(
            en["type"],
            format!("urn:etown-atlas:problem:{code}"),
            "{uri}"
        );
        let zh = request(&app, get_with(uri, &[("accept-language", "zh-CN")]))
            .await
            .problem(status);
        assert_eq!(zh["code"], code, "{uri}");
        assert_eq!(zh["title"], title_zh, "{uri}");
    }
}

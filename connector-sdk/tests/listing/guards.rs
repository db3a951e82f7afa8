//! Malformed answers are errors naming the listing; servers that repeat a cursor, a
//! page or empty pages forever end with an error or a warning through the listing driver.

use super::*;

#[tokio::test]
async fn malformed_answers_are_errors_naming_the_listing() {
    let server = MockServer::start().await;
    Mock::given(path("/api/objects"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"id": "u1"}, "next": "x"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/cursors"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [], "next": {"token": "tok-123"}})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/types"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [{"id": "u1"}, {"id": 77, "secret": "s3cr3t"}]})),
        )
        .mount(&server)
        .await;
    let c = client(&server);
    let cases = [
        (
            Listing::get("/api/objects").items_at("/data"),
            "the items at \"/data\" are an object, not an array",
        ),
        (
            Listing::get("/api/objects").items_at("/users"),
            "has no items at \"/users\"",
        ),
        (
            Listing::get("/api/cursors")
                .items_at("/data")
                .cursor_in_body("/next", "cursor"),
            "the cursor at \"/next\" is an object, not a string",
        ),
        (
            Listing::get("/api/types").items_at("/data"),
            "item 1 at \"/data\" is not a User (invalid type, expected a string)",
        ),
    ];
    for (listing, needle) in cases {
        let err = listing
            .page::<User>(&c, PageRequest::first())
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.kind(), ErrorKind::Internal, "{msg}");
        assert!(
            msg.contains(&format!("listing {}", listing.path())),
            "{msg}"
        );
        assert!(msg.contains(needle), "{needle}: {msg}");
        assert!(!msg.contains("tok-123") && !msg.contains("77"), "{msg}");
    }
    // A single-page listing refuses a token it did not make.
    let err = Listing::get("/api/objects")
        .page::<User>(&c, PageRequest::after(PageToken::new("7")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn unreadable_or_foreign_links_are_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/garbled"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(users(0..1))
                .insert_header("Link", "https://x/2; rel=next"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/foreign"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(users(0..1))
                .insert_header("Link", r#"<https://elsewhere.example/2>; rel="next""#),
        )
        .mount(&server)
        .await;
    let c = client(&server);
    let err = Listing::get("/garbled")
        .link_header()
        .page::<User>(&c, PageRequest::first())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("listing /garbled"), "{err}");
    assert!(
        err.to_string()
            .contains("could not be read as RFC 8288 links (expected '<' at character 1)"),
        "{err}"
    );
    let err = Listing::get("/foreign")
        .link_header()
        .page::<User>(&c, PageRequest::first())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("https://elsewhere.example"),
        "{err}"
    );
    assert!(err.to_string().contains("is not followed"), "{err}");
}

#[tokio::test]
async fn scim_page_answered_from_elsewhere_is_an_error() {
    let server = MockServer::start().await;
    // A cache answers every startIndex with the first page.
    Mock::given(path("/scim/v2/Users"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"Resources": users(0..2), "totalResults": 6, "startIndex": 1}),
            ),
        )
        .mount(&server)
        .await;
    let err = drain_scim(&client(&server), ListQuery::new(), 2)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("/scim/v2/Users"), "{err}");
    assert!(
        err.to_string()
            .contains("answered a request for startIndex 3 with the page at startIndex 1"),
        "{err}"
    );
}

// ---- guards: servers that never end ----

#[tokio::test]
async fn a_server_repeating_the_same_cursor_forever_ends_with_an_error() {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let n = calls.clone();
    // New items every time, but always the same cursor.
    Mock::given(path("/users"))
        .respond_with(move |_: &Request| {
            let i = n.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": users(i..i + 1), "next": "same"}))
        })
        .mount(&server)
        .await;
    let listing = Listing::get("/users")
        .items_at("/data")
        .cursor_in_body("/next", "cursor");
    let err = drain(&listing, &client(&server)).await.unwrap_err();
    assert!(err.to_string().contains("\"same\""), "{err}");
    assert!(err.context_pairs().iter().any(|(k, _)| *k == PAGING_ERROR));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_server_repeating_the_same_page_forever_ends_with_a_warning_or_an_error() {
    let server = MockServer::start().await;
    // The page parameter is ignored: the same page and the same next page, forever.
    Mock::given(path("/users"))
        .respond_with(|req: &Request| {
            let next = param(req, "page").map_or(2, |p| p.parse::<u32>().unwrap() + 1);
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": users(0..2), "total": null}))
                .insert_header(
                    "Link",
                    format!("</users?page={next}>; rel=\"next\"").as_str(),
                )
        })
        .mount(&server)
        .await;
    let c = client(&server);
    let listing = Listing::get("/users").items_at("/data").link_header();
    let (items, warnings) = drive(&listing, &c).await.unwrap();
    assert_eq!(items, ids(0..2));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("listing /users"), "{warnings:?}");
    assert!(warnings[0].contains("may be missing"), "{warnings:?}");

    // With a declared total that is not reached, the same server fails the listing.
    let server2 = MockServer::start().await;
    Mock::given(path("/users"))
        .respond_with(|req: &Request| {
            let next = param(req, "page").map_or(2, |p| p.parse::<u32>().unwrap() + 1);
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": users(0..2), "total": 9}))
                .insert_header(
                    "Link",
                    format!("</users?page={next}>; rel=\"next\"").as_str(),
                )
        })
        .mount(&server2)
        .await;
    let listing = listing.total_at("/total");
    let err = drive(&listing, &client(&server2)).await.unwrap_err();
    assert!(err.to_string().contains("7 missing"), "{err}");
}

#[tokio::test]
async fn empty_pages_with_a_next_link_are_followed_but_not_forever() {
    // An empty page with a next link in the middle loses nothing.
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(|req: &Request| {
            let page: usize = param(req, "page").map_or(1, |p| p.parse().unwrap());
            let (items, link) = match page {
                1 => (users(0..2), Some("</items?page=2>; rel=\"next\"")),
                2 => (vec![], Some("</items?page=3>; rel=\"next\"")),
                _ => (users(2..3), None),
            };
            let resp = ResponseTemplate::new(200).set_body_json(items);
            match link {
                Some(l) => resp.insert_header("Link", l),
                None => resp,
            }
        })
        .mount(&server)
        .await;
    let listing = Listing::get("/items").link_header();
    assert_eq!(drain(&listing, &client(&server)).await.unwrap(), ids(0..3));

    // Empty pages whose next link always moves on: the guard gives up.
    let endless = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(|req: &Request| {
            let page: usize = param(req, "page").map_or(1, |p| p.parse().unwrap());
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .insert_header(
                    "Link",
                    format!("</items?page={}>; rel=next", page + 1).as_str(),
                )
        })
        .mount(&endless)
        .await;
    let err = drain(&listing, &client(&endless)).await.unwrap_err();
    assert!(err.to_string().contains("empty pages in a row"), "{err}");
    assert!(err.to_string().contains("listing /items"), "{err}");

    // An empty page whose next link points at itself: a repeated token at once.
    let stuck = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([]))
                .insert_header("Link", "</items?page=1>; rel=next"),
        )
        .mount(&stuck)
        .await;
    let err = drain(&listing, &client(&stuck)).await.unwrap_err();
    assert!(err.to_string().contains("already used"), "{err}");
    assert_eq!(queries(&stuck).await.len(), 2);
}

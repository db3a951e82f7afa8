//! `page::fan_out` inside an `#[async_trait]` method: results in order, at most `limit`
//! calls in flight, the first error ends it, and the future is `Send`.

use super::*;

// ---- fan-out inside an #[async_trait] method ----

struct Details {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    prefix: String,
}

impl Details {
    async fn fetch(&self, id: String, slow: u64) -> Result<String> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(slow)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if id == "boom" {
            return Err(Error::not_found("no boom"));
        }
        Ok(format!("{}{id}", self.prefix))
    }
}

#[async_trait]
trait Enrich {
    async fn enrich(&self, ids: Vec<String>, limit: usize) -> Result<Vec<String>>;
    async fn enrich_borrowed(&self, ids: &[String]) -> Result<Vec<String>>;
}

#[async_trait]
impl Enrich for Details {
    async fn enrich(&self, ids: Vec<String>, limit: usize) -> Result<Vec<String>> {
        let n = ids.len() as u64;
        // Later items finish first; the results still come back in order.
        let calls: Vec<(String, u64)> = ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| (id, (n - i as u64) * 5))
            .collect();
        fan_out(calls, limit, |(id, slow)| self.fetch(id, slow)).await
    }

    async fn enrich_borrowed(&self, ids: &[String]) -> Result<Vec<String>> {
        // Borrowed items work too, as long as the closure takes them as they come.
        fan_out(ids.iter(), 2, |id| self.fetch(id.clone(), 1)).await
    }
}

#[tokio::test]
async fn fan_out_in_an_async_trait_method_keeps_order_and_bounds_concurrency() {
    let details = Details {
        in_flight: AtomicUsize::new(0),
        max_in_flight: AtomicUsize::new(0),
        prefix: "team-".into(),
    };
    let ids: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    let out = details.enrich(ids.clone(), 3).await.unwrap();
    let expected: Vec<String> = ids.iter().map(|i| format!("team-{i}")).collect();
    assert_eq!(out, expected);
    assert_eq!(details.max_in_flight.load(Ordering::SeqCst), 3);
    assert_eq!(details.in_flight.load(Ordering::SeqCst), 0);

    details.max_in_flight.store(0, Ordering::SeqCst);
    let out = details.enrich(ids.clone(), 0).await.unwrap();
    assert_eq!(out.len(), 10);
    assert_eq!(details.max_in_flight.load(Ordering::SeqCst), 1, "0 is 1");

    assert_eq!(
        details.enrich_borrowed(&ids[..3]).await.unwrap(),
        ["team-0", "team-1", "team-2"]
    );

    // The first error ends the fan-out.
    let err = details
        .enrich(vec!["a".into(), "boom".into(), "c".into()], 2)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    // And the future is Send: it can be spawned.
    let details = Arc::new(details);
    let d = details.clone();
    let spawned = tokio::spawn(async move { d.enrich(vec!["x".into()], 4).await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(spawned, ["team-x"]);
}

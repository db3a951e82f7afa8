//! Connector code that panics: the panic becomes an [`ErrorKind::Internal`] error of the
//! operation, as upstream's gRPC recovery interceptor makes it, instead of unwinding into
//! the runner (where it would wedge a service-mode task slot).

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt as _;

use crate::error::{Error, ErrorKind, Result};

/// Runs `fut` (connector code doing `what`); a panic inside it is an `Internal` error
/// carrying the panic's message.
///
/// The connector's own state may be left half-updated by the panic, as with any panic that
/// is caught; the SDK holds no lock across this call, so nothing of the SDK's is poisoned.
pub(crate) async fn guarded<T>(what: &str, fut: impl Future<Output = Result<T>>) -> Result<T> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(r) => r,
        Err(payload) => Err(panicked(what, payload.as_ref())),
    }
}

/// The error of a panic with `payload`, in connector code doing `what`.
pub(crate) fn panicked(what: &str, payload: &(dyn Any + Send)) -> Error {
    let message = panic_message(payload);
    tracing::error!(operation = what, panic = %message, "connector code panicked");
    Error::new(
        ErrorKind::Internal,
        format!("connector bug: {what} panicked: {message}"),
    )
}

/// The text of a panic payload (`panic!("…")` carries a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_an_internal_error_with_its_message() {
        let err = guarded::<()>("grant", async {
            let ids: Vec<&str> = Vec::new();
            let first = ids.first().expect("the API sent no id");
            assert!(!first.is_empty());
            Ok(())
        })
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert!(err.to_string().contains("grant panicked"), "{err}");
        assert!(err.to_string().contains("the API sent no id"), "{err}");
        let ok = guarded("grant", async { Ok(7) }).await.unwrap();
        assert_eq!(ok, 7);
        let formatted = guarded::<()>("x", async { panic!("id {} missing", 42) })
            .await
            .unwrap_err();
        assert!(formatted.to_string().contains("id 42 missing"));
    }
}

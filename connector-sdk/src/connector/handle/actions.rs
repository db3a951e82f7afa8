//! Actions through [`ConnectorHandle`]: invoked detached (the caller waits a little, then
//! polls [`ConnectorHandle::action_status`]), under a ceiling, with their results kept in
//! memory (the last 1000, as upstream).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use super::ConnectorHandle;
use super::panics::guarded;
use crate::action::{ActionRequest, ActionSchema};
use crate::error::{Error, ErrorKind, Result};
use crate::model::Profile;

/// How long an action may run before it is stopped (upstream's ceiling): one hour.
pub const DEFAULT_ACTION_TIMEOUT: Duration = Duration::from_secs(3600);

/// Finished actions whose results are kept.
const KEPT: usize = 1000;

/// Where an action is.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ActionState {
    /// Still running: ask [`ConnectorHandle::action_status`] again later.
    Running,
    /// Finished with this result.
    Complete(Profile),
    /// Failed (or panicked, or ran past its ceiling).
    Failed {
        /// What kind of failure.
        kind: ErrorKind,
        /// The error, as text.
        message: String,
    },
}

/// One invocation of an action.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ActionRun {
    /// The invocation's id (random, 32 hex digits).
    pub id: String,
    /// The action's name.
    pub name: String,
    /// Where it is.
    pub state: ActionState,
}

impl ActionRun {
    /// The result, or the failure as an [`Error`]; `None` while running.
    pub fn result(&self) -> Option<Result<&Profile>> {
        match &self.state {
            ActionState::Running => None,
            ActionState::Complete(p) => Some(Ok(p)),
            ActionState::Failed { kind, message } => Some(Err(Error::new(*kind, message.clone()))),
        }
    }
}

/// Action runs by id: running ones, and the last [`KEPT`] finished ones.
#[derive(Default)]
pub(super) struct ActionRuns {
    finished: VecDeque<String>,
    by_id: HashMap<String, ActionRun>,
}

impl ActionRuns {
    fn start(&mut self, run: ActionRun) {
        self.by_id.insert(run.id.clone(), run);
    }

    fn finish(&mut self, id: &str, state: ActionState) {
        if let Some(run) = self.by_id.get_mut(id) {
            run.state = state;
            self.finished.push_back(id.to_string());
        }
        while self.finished.len() > KEPT {
            if let Some(old) = self.finished.pop_front() {
                self.by_id.remove(&old);
            }
        }
    }
}

impl ConnectorHandle {
    /// The schemas of the connector's actions.
    pub fn action_schemas(&self) -> Vec<ActionSchema> {
        self.action_list().iter().map(|a| a.schema()).collect()
    }

    /// Invokes the action `name` with `args`: looks it up and validates the arguments
    /// against its schema (errors come back at once, nothing ran), then runs it detached
    /// and waits up to `wait` for it. The run is [`ActionState::Running`] when it has not
    /// finished by then; it goes on, is stopped after `ceiling`
    /// ([`DEFAULT_ACTION_TIMEOUT`] upstream) as `DeadlineExceeded`, and its result is
    /// kept for [`ConnectorHandle::action_status`]. A panic in the action is a failed run.
    ///
    /// ```
    /// use std::time::Duration;
    /// use connector_sdk::handle::{ActionState, ConnectorHandle};
    /// use connector_sdk::testing::MemoryConnector;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let handle = ConnectorHandle::new(MemoryConnector::seeded()).unwrap();
    /// let args = serde_json::json!({"user_id": "u1"});
    /// let run = handle
    ///     .invoke("disable_user", args.as_object().unwrap().clone(), Duration::from_secs(5), Duration::from_secs(60))
    ///     .await
    ///     .unwrap();
    /// assert!(matches!(run.state, ActionState::Complete(_)));
    /// assert_eq!(handle.action_status(&run.id).unwrap(), run);
    /// # });
    /// ```
    pub async fn invoke(
        &self,
        name: &str,
        args: Profile,
        wait: Duration,
        ceiling: Duration,
    ) -> Result<ActionRun> {
        let handler = self.action(name)?.clone();
        handler.schema().validate_args(&args)?;
        let id = format!("{:032x}", rand::random::<u128>());
        let run = ActionRun {
            id: id.clone(),
            name: name.to_string(),
            state: ActionState::Running,
        };
        self.runs().start(run.clone());
        let this = self.clone();
        let (id2, name2) = (id.clone(), name.to_string());
        let mut task = tokio::spawn(async move {
            let work = guarded("action", handler.invoke(ActionRequest::new(args)));
            let state = match tokio::time::timeout(ceiling, work).await {
                Ok(Ok(out)) => ActionState::Complete(out),
                Ok(Err(e)) => ActionState::Failed {
                    kind: e.kind(),
                    message: e.to_string(),
                },
                Err(_) => ActionState::Failed {
                    kind: ErrorKind::DeadlineExceeded,
                    message: format!(
                        "action {name2} ran longer than its ceiling of {}s and was stopped",
                        ceiling.as_secs()
                    ),
                },
            };
            this.runs().finish(&id2, state);
        });
        let finished = tokio::select! {
            r = &mut task => r.is_ok(),
            _ = tokio::time::sleep(wait) => false,
        };
        if finished {
            return Ok(self.action_status(&id).unwrap_or(run));
        }
        Ok(run)
    }

    /// Invokes the action `name` and waits for its result (at most `ceiling`).
    pub async fn invoke_and_wait(
        &self,
        name: &str,
        args: Profile,
        ceiling: Duration,
    ) -> Result<Profile> {
        let run = self.invoke(name, args, ceiling, ceiling).await?;
        match run.result() {
            Some(r) => r.cloned(),
            // The ceiling passed while the spawned run records its own timeout.
            None => Err(Error::new(
                ErrorKind::DeadlineExceeded,
                format!(
                    "action {name} ran longer than {}s and was stopped",
                    ceiling.as_secs()
                ),
            )),
        }
    }

    /// The run `id` of an action started by this process, if it is known (running, or one
    /// of the last 1000 finished).
    pub fn action_status(&self, id: &str) -> Option<ActionRun> {
        self.runs().by_id.get(id).cloned()
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, ActionRuns> {
        self.inner.runs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::ActionHandler;
    use crate::connector::{Connector, ConnectorMetadata};
    use crate::syncer::ResourceSyncer;
    use async_trait::async_trait;
    use std::sync::Arc;

    struct Slow;
    #[async_trait]
    impl ActionHandler for Slow {
        fn schema(&self) -> ActionSchema {
            ActionSchema::new("slow", "Slow").with_argument(crate::schema::FieldSchema::new(
                "panic",
                crate::schema::FieldType::Bool,
            ))
        }
        async fn invoke(&self, req: ActionRequest) -> Result<Profile> {
            if req.args.contains_key("panic") {
                panic!("the action broke");
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(req.args)
        }
    }
    struct C;
    #[async_trait]
    impl Connector for C {
        fn metadata(&self) -> ConnectorMetadata {
            ConnectorMetadata::new("c", "C")
        }
        async fn validate(&self) -> Result<()> {
            Ok(())
        }
        fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
            Vec::new()
        }
        fn actions(&self) -> Vec<Arc<dyn ActionHandler>> {
            vec![Arc::new(Slow)]
        }
    }

    #[tokio::test]
    async fn a_slow_action_is_running_then_complete() {
        let h = ConnectorHandle::new(C).unwrap();
        let ms = Duration::from_millis;
        let run = h
            .invoke("slow", Profile::new(), ms(20), ms(5000))
            .await
            .unwrap();
        assert_eq!(run.state, ActionState::Running);
        assert_eq!(
            h.action_status(&run.id).unwrap().state,
            ActionState::Running
        );
        tokio::time::sleep(ms(600)).await;
        assert!(matches!(
            h.action_status(&run.id).unwrap().state,
            ActionState::Complete(_)
        ));
    }

    #[tokio::test]
    async fn a_panicking_or_overlong_action_fails_and_the_handle_goes_on() {
        let h = ConnectorHandle::new(C).unwrap();
        let ms = Duration::from_millis;
        let mut args = Profile::new();
        args.insert("panic".into(), true.into());
        let run = h.invoke("slow", args, ms(2000), ms(5000)).await.unwrap();
        match &run.state {
            ActionState::Failed { kind, message } => {
                assert_eq!(*kind, ErrorKind::Internal);
                assert!(message.contains("the action broke"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let run = h
            .invoke("slow", Profile::new(), ms(2000), ms(50))
            .await
            .unwrap();
        assert!(
            matches!(
                run.state,
                ActionState::Failed {
                    kind: ErrorKind::DeadlineExceeded,
                    ..
                }
            ),
            "{run:?}"
        );
        let err = h
            .invoke("nope", Profile::new(), ms(10), ms(10))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("unknown action"), "{err}");
    }
}

//! Which run a session writes to, and what it may skip.
//!
//! - `--run-name NAME` names the run: created when absent, joined when present (its target
//!   space, options and seed must match).
//! - Without a name, the name is derived from the command, the digests and the seed, so the N
//!   shards of one `--seed S` scan meet in one run without agreeing on anything else.
//! - `--resume` without a name or seed continues the newest run of the same targets and
//!   options that has a session not finished, adopting its seed; with nothing to resume it
//!   starts a new run.
//! - A shard that already has endpoints done in the run is only continued with `--resume`:
//!   a second run over the same targets needs its own name.

use super::{DoneSet, Fingerprint, NewRun, ResultStore, RunInfo, RunRef, Session, SessionKey, SessionSpec, StoreError};

/// Find or create the run `spec` belongs to, check that the session may join it, load the
/// shard's done ordinals and insert the session.
pub fn begin(store: &mut dyn ResultStore, spec: &SessionSpec) -> Result<Session, StoreError> {
    let run = resolve_run(store, spec)?;
    check_compatible(&run, spec)?;
    let done = store.done_ordinals(run.id, spec.shard)?;
    if !spec.resume && !done.is_empty() {
        return Err(StoreError::Conflict(format!(
            "run {:?} already has {} endpoints of shard {} done: pass --resume to continue it, \
             or --run-name to start another run",
            run.name,
            done.len(),
            spec.shard
        )));
    }
    let session_id = store.start_session(run.id, spec)?;
    Ok(Session { key: SessionKey { run_id: run.id, session_id }, run, shard: spec.shard, done: DoneSet::new(done) })
}

fn resolve_run(store: &mut dyn ResultStore, spec: &SessionSpec) -> Result<RunInfo, StoreError> {
    if let Some(name) = &spec.run_name {
        if let Some(run) = store.find_run(&RunRef::Name(name.clone()))? {
            return Ok(run);
        }
        return store.create_run(&new_run(spec, name.clone(), spec.seed));
    }
    if spec.resume
        && !spec.seed_given
        && let Some(run) = store.latest_unfinished(&spec.command, &spec.targets_digest, &spec.config_digest)?
    {
        return Ok(run);
    }
    let name = derived_name(spec, spec.seed);
    if let Some(run) = store.find_run(&RunRef::Name(name.clone()))? {
        return Ok(run);
    }
    store.create_run(&new_run(spec, name, spec.seed))
}

/// `scan-` and 12 hex digits of the command, digests and seed.
pub(super) fn derived_name(spec: &SessionSpec, seed: u64) -> String {
    let digest = Fingerprint::new()
        .text(&spec.command)
        .text(&spec.targets_digest)
        .text(&spec.config_digest)
        .text(&seed.to_string())
        .finish();
    format!("{}-{}", spec.command, &digest[..12])
}

fn new_run(spec: &SessionSpec, name: String, seed: u64) -> NewRun {
    NewRun {
        name,
        command: spec.command.clone(),
        seed,
        targets_digest: spec.targets_digest.clone(),
        config_digest: spec.config_digest.clone(),
        created: spec.started,
    }
}

fn check_compatible(run: &RunInfo, spec: &SessionSpec) -> Result<(), StoreError> {
    let name = &run.name;
    if run.command != spec.command {
        return Err(StoreError::Conflict(format!("run {name:?} is a {} run, not a {} run", run.command, spec.command)));
    }
    if run.targets_digest != spec.targets_digest {
        return Err(StoreError::Conflict(format!(
            "run {name:?} was started with other targets, ports or exclusions (in another order, or another \
             seawall version): its sessions must share one target list (save ZMap's output to a file and pass it \
             with -iL FILE to every shard)"
        )));
    }
    if run.config_digest != spec.config_digest {
        return Err(StoreError::Conflict(format!(
            "run {name:?} was started with other checks (--active, --probe-webshells, rules): use the same options"
        )));
    }
    if spec.seed_given && run.seed != spec.seed {
        return Err(StoreError::Conflict(format!(
            "run {name:?} uses seed {}, not {}: every shard and resume of a run shares its seed",
            run.seed, spec.seed
        )));
    }
    Ok(())
}

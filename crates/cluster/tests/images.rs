//! Images against real Docker: the host daemon (scripts/test.sh starts it)
//! and a second dockerd started by these tests as the copy target. Test
//! images are made from tarballs built here; nothing is pulled.
//!
//! These tests fail, not skip, when Docker is not available.

use std::time::{Duration, Instant};

use cluster::images::{
    Daemon, ImageError, ImageEvent, SkipReason, ensure_pulled, transfer, transfer_to_many,
};
use testkit::dockerd::{self as support, HostImage, chain, host, second_dockerd};

fn record(events: &mut Vec<ImageEvent>) -> impl FnMut(ImageEvent) + Send + '_ {
    |event| events.push(event)
}

#[tokio::test]
async fn ping_reports_engine_and_api_versions() {
    let host = host().await;
    let target = second_dockerd().await;
    for daemon in [&host, &target.daemon()] {
        let info = daemon.ping().await.unwrap();
        assert!(!info.version.is_empty(), "{info:?}");
        assert!(info.api_version.starts_with("1."), "{info:?}");
    }
}

#[tokio::test]
async fn transfer_copies_the_image_with_its_id_then_skips_it() {
    let host = host().await;
    let second = second_dockerd().await;
    let target = second.daemon();
    let image = HostImage::new(&host, "copy", 256 * 1024).await;
    assert_eq!(target.image_id(&image.name).await.unwrap(), None);

    let mut events = Vec::new();
    let report = transfer(
        &host,
        &target,
        std::slice::from_ref(&image.name),
        &mut record(&mut events),
    )
    .await
    .unwrap();
    assert_eq!(
        target.image_id(&image.name).await.unwrap().as_deref(),
        Some(image.id.as_str()),
        "the target has the image under its name with the source's ID"
    );
    assert_eq!(report.transferred.len(), 1, "{report:?}");
    assert!(report.skipped.is_empty(), "{report:?}");
    assert_eq!(report.transferred[0].id, image.id);
    assert!(report.bytes() > 256 * 1024, "{report:?}");
    match events.last() {
        Some(ImageEvent::Transferred {
            image: name,
            to,
            id,
            bytes,
        }) => {
            assert_eq!(name, &image.name);
            assert_eq!(to, target.label());
            assert_eq!(id, &image.id);
            assert_eq!(*bytes, report.bytes());
        }
        other => panic!("last event {other:?}, all: {events:?}"),
    }

    // Again: the same ID is there, so nothing is sent.
    let mut events = Vec::new();
    let report = transfer(
        &host,
        &target,
        std::slice::from_ref(&image.name),
        &mut record(&mut events),
    )
    .await
    .unwrap();
    assert!(report.transferred.is_empty(), "{report:?}");
    assert_eq!(report.bytes(), 0);
    assert_eq!(
        events,
        vec![ImageEvent::Skipped {
            image: image.name.clone(),
            to: target.label().to_string(),
            id: image.id.clone(),
            reason: SkipReason::AlreadyPresent,
        }]
    );
}

#[tokio::test]
async fn transfer_only_tags_an_id_the_target_has_under_another_name() {
    let host = host().await;
    let second = second_dockerd().await;
    let target = second.daemon();
    let image = HostImage::new(&host, "tag-a", 0).await;
    transfer(
        &host,
        &target,
        std::slice::from_ref(&image.name),
        &mut |_| {},
    )
    .await
    .unwrap();

    // A second name for the same ID on the host.
    let other = HostImage {
        name: support::unique_name("tag-b"),
        id: image.id.clone(),
    };
    let (repo, tag) = other.name.rsplit_once(':').unwrap();
    let docker = host.docker("tag a test image").await.unwrap();
    docker
        .tag_image(
            &image.id,
            Some(bollard::query_parameters::TagImageOptions {
                repo: Some(repo.to_string()),
                tag: Some(tag.to_string()),
            }),
        )
        .await
        .unwrap();

    let mut events = Vec::new();
    let report = transfer(
        &host,
        &target,
        std::slice::from_ref(&other.name),
        &mut record(&mut events),
    )
    .await
    .unwrap();
    assert_eq!(report.bytes(), 0, "{report:?}");
    assert_eq!(report.skipped[0].reason, SkipReason::TaggedExisting);
    assert_eq!(
        target.image_id(&other.name).await.unwrap().as_deref(),
        Some(image.id.as_str())
    );
    assert!(
        !events.iter().any(|e| matches!(
            e,
            ImageEvent::Transferring { .. } | ImageEvent::Transferred { .. }
        )),
        "{events:?}"
    );
}

/// Every peer's DinD at once: one export feeds a load on each daemon that
/// lacks the image; a daemon that has it is skipped on its own.
#[tokio::test]
async fn transfer_to_many_streams_one_export_into_every_daemon_that_needs_it() {
    let host = host().await;
    let second = second_dockerd().await;
    let third = support::SecondDockerd::start().await;
    let (a, b) = (second.daemon(), third.daemon());
    // 9 MiB: large enough for progress events (one per 4 MiB).
    let image = HostImage::new(&host, "many", 9 * 1024 * 1024).await;
    let images = std::slice::from_ref(&image.name);

    let mut events = Vec::new();
    let reports = transfer_to_many(&host, &[&a, &b], images, &mut record(&mut events))
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    for (daemon, report) in [(&a, &reports[0]), (&b, &reports[1])] {
        assert_eq!(report.transferred.len(), 1, "{report:?}");
        assert_eq!(
            daemon.image_id(&image.name).await.unwrap().as_deref(),
            Some(image.id.as_str())
        );
    }
    // One stream, to both: its progress names both daemons.
    let both = format!("{}, {}", a.label(), b.label());
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ImageEvent::Transferring { to, .. } if *to == both)),
        "{events:?}"
    );

    // Only the daemon that lost the image gets it again.
    assert!(b.remove_image(&image.name).await.unwrap());
    let reports = transfer_to_many(&host, &[&a, &b], images, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(reports[0].skipped[0].reason, SkipReason::AlreadyPresent);
    assert!(reports[0].transferred.is_empty());
    assert_eq!(reports[1].transferred.len(), 1, "{:?}", reports[1]);
}

#[tokio::test]
async fn ensure_pulled_skips_an_image_the_host_has() {
    let host = host().await;
    let image = HostImage::new(&host, "present", 0).await;
    let started = Instant::now();
    let mut events = Vec::new();
    ensure_pulled(&host, &image.name, &mut record(&mut events))
        .await
        .unwrap();
    // Exactly one event, and no Pulling: the registry was not asked.
    assert_eq!(
        events,
        vec![ImageEvent::AlreadyPresent {
            image: image.name.clone(),
            daemon: host.label().to_string(),
            id: image.id.clone(),
        }]
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn ensure_pulled_of_a_missing_image_fails_fast_naming_image_and_daemon() {
    // No registry is reachable here (and none is wanted in tests): the pull
    // must fail, within the stall deadline at worst.
    let host = host().await.with_stall_timeout(Duration::from_secs(10));
    let image = format!("{}-missing", support::unique_name("absent"));
    let mut events = Vec::new();
    let result = tokio::time::timeout(
        Duration::from_secs(30),
        ensure_pulled(&host, &image, &mut record(&mut events)),
    )
    .await
    .expect("ensure_pulled gave up within its deadline");
    let err = result.expect_err("the image cannot be pulled");
    assert!(
        matches!(
            err,
            ImageError::Pull { .. } | ImageError::PullStalled { .. }
        ),
        "{err:?}"
    );
    eprintln!("{}", chain(&err));
    let message = err.to_string();
    assert!(message.contains(&image), "{message}");
    assert!(message.contains(host.label()), "{message}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ImageEvent::Pulled { .. })),
        "{events:?}"
    );
}

#[tokio::test]
async fn transfer_of_an_image_missing_on_the_source_names_image_and_source() {
    let host = host().await;
    let second = second_dockerd().await;
    let image = support::unique_name("nowhere");
    let err = transfer(
        &host,
        &second.daemon(),
        std::slice::from_ref(&image),
        &mut |_| {},
    )
    .await
    .expect_err("nothing to copy");
    assert!(matches!(err, ImageError::MissingOnSource { .. }), "{err:?}");
    eprintln!("{}", chain(&err));
    let message = err.to_string();
    assert!(message.contains(&image), "{message}");
    assert!(message.contains(host.label()), "{message}");
}

#[tokio::test]
async fn transfer_to_a_daemon_that_is_down_names_its_label() {
    let host = host().await;
    let image = HostImage::new(&host, "down", 0).await;
    let dir = tempfile::tempdir().unwrap();
    let down = Daemon::connect_unix(dir.path().join("docker.sock"), "dind of peer1-org2").unwrap();
    let started = Instant::now();
    let err = transfer(&host, &down, std::slice::from_ref(&image.name), &mut |_| {})
        .await
        .expect_err("the target is down");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(matches!(err, ImageError::Connect { .. }), "{err:?}");
    eprintln!("{}", chain(&err));
    let message = err.to_string();
    assert!(message.contains(down.label()), "{message}");
    assert!(message.contains("dind of peer1-org2"), "{message}");
    assert!(message.contains(&image.name), "{message}");
}

use super::*;
use crate::fixtures::{mk_analytics_job, mk_pipeline, mk_platform};
use pretty_assertions::assert_eq;
use regex::Regex;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid regex")
}

#[test]
fn pipeline_topology_from_the_samples() {
    let topology = Topology::for_pipeline(&mk_pipeline(), &mk_platform()).expect("topology");
    let q = "machina.cp.shop.product-copy";
    assert_eq!(topology.vhost, "shop.acme");
    assert_eq!(topology.user, q);
    assert_eq!(
        topology.exchanges,
        vec![
            ExchangeSpec::shared_topic("machina.events"),
            ExchangeSpec::shared_topic("machina.jobs"),
            ExchangeSpec {
                name: format!("{q}.dlx"),
                kind: ExchangeKind::Direct,
                owned: true
            },
        ]
    );
    assert_eq!(
        topology.queues,
        vec![
            QueueSpec::plain(format!("{q}.dlq")),
            QueueSpec {
                name: q.into(),
                delivery_limit: Some(5),
                dead_letter: Some((format!("{q}.dlx"), q.into())),
                message_ttl_ms: Some(3_600_000),
            },
        ]
    );
    assert_eq!(
        topology.bindings,
        vec![
            BindingSpec::new(&format!("{q}.dlx"), &format!("{q}.dlq"), q),
            BindingSpec::new("machina.jobs", q, "generate.product.#"),
            BindingSpec::new("machina.jobs", q, "generate.shop.product-copy"),
        ]
    );
    assert_eq!(topology.retired, Retired::default());
}

#[test]
fn queue_arguments_are_quorum_with_limit_dead_letter_and_ttl() {
    let topology = Topology::for_pipeline(&mk_pipeline(), &mk_platform()).expect("topology");
    let body = topology.queues[1].to_json();
    assert_eq!(
        body,
        json!({
            "durable": true,
            "auto_delete": false,
            "arguments": {
                "x-queue-type": "quorum",
                "x-delivery-limit": 5,
                "x-dead-letter-exchange": "machina.cp.shop.product-copy.dlx",
                "x-dead-letter-routing-key": "machina.cp.shop.product-copy",
                "x-message-ttl": 3_600_000,
            }
        })
    );
    assert_eq!(
        topology.queues[0].to_json()["arguments"],
        json!({ "x-queue-type": "quorum" })
    );
}

#[test]
fn pipeline_permissions_cover_only_its_own_resources() {
    let topology = Topology::for_pipeline(&mk_pipeline(), &mk_platform()).expect("topology");
    let p = &topology.permissions;
    let (configure, write, read) = (re(&p.configure), re(&p.write), re(&p.read));
    let own = [
        "machina.cp.shop.product-copy",
        "machina.cp.shop.product-copy.dlq",
        "machina.cp.shop.product-copy.dlx",
    ];
    for name in own {
        assert!(configure.is_match(name), "configure {name}");
        assert!(read.is_match(name), "read {name}");
        assert!(write.is_match(name), "write {name}");
    }
    let foreign = [
        "machina.cp.shop.product-copy-v2",
        "machina.cp.shop.product-copyx",
        "machina.cp.shop2.product-copy",
        "machina.cp.other.product-copy",
        "machina.aj.shop.product-copy",
        "amachina.cp.shop.product-copy",
        "machina.jobs",
        "machina.events",
        "machinaXjobs",
    ];
    for name in foreign {
        assert!(!configure.is_match(name), "configure {name}");
        assert!(!read.is_match(name), "read {name}");
    }
    assert!(write.is_match("machina.jobs"));
    assert!(write.is_match("machina.events"));
    for name in &foreign[..6] {
        assert!(!write.is_match(name), "write {name}");
    }
    assert!(!write.is_match("machinaXjobs"), "dots are escaped");
    assert!(!write.is_match("machina.jobs.extra"));
}

#[test]
fn spec_bindings_default_to_the_jobs_exchange_and_other_exchanges_are_shared() {
    let mut pipeline = mk_pipeline();
    pipeline.spec.messaging.bindings = vec![machina_crds::content_pipeline::QueueBinding {
        exchange: Some("partner.orders".into()),
        routing_keys: vec!["order.*".into(), "order.*".into()],
    }];
    let topology = Topology::for_pipeline(&pipeline, &mk_platform()).expect("topology");
    let exchanges: Vec<_> = topology
        .exchanges
        .iter()
        .map(|e| (e.name.as_str(), e.owned))
        .collect();
    assert!(
        exchanges.contains(&("partner.orders", false)),
        "{exchanges:?}"
    );
    let keys: Vec<_> = topology
        .bindings
        .iter()
        .map(|b| (b.exchange.as_str(), b.routing_key.as_str()))
        .collect();
    assert_eq!(
        keys,
        vec![
            (
                "machina.cp.shop.product-copy.dlx",
                "machina.cp.shop.product-copy"
            ),
            ("machina.jobs", "generate.shop.product-copy"),
            ("partner.orders", "order.*"),
        ]
    );
}

#[test]
fn explicit_vhost_and_missing_ttl() {
    let mut platform = mk_platform();
    platform.spec.rabbitmq.vhost = Some("/".into());
    let mut pipeline = mk_pipeline();
    pipeline.spec.messaging.message_ttl_seconds = None;
    let topology = Topology::for_pipeline(&pipeline, &platform).expect("topology");
    assert_eq!(topology.vhost, "/");
    assert_eq!(topology.queues[1].message_ttl_ms, None);
}

#[test]
fn turning_async_jobs_off_retires_the_queues() {
    let mut pipeline = mk_pipeline();
    pipeline.spec.messaging.async_jobs = false;
    pipeline.spec.messaging.bindings.clear();
    let topology = Topology::for_pipeline(&pipeline, &mk_platform()).expect("topology");
    assert!(topology.queues.is_empty());
    assert!(topology.bindings.is_empty());
    assert!(topology.exchanges.iter().all(|e| !e.owned));
    assert_eq!(
        topology.retired,
        Retired {
            queues: vec![
                "machina.cp.shop.product-copy".into(),
                "machina.cp.shop.product-copy.dlq".into()
            ],
            exchanges: vec!["machina.cp.shop.product-copy.dlx".into()],
        }
    );
}

#[test]
fn names_with_dots_are_refused() {
    let mut pipeline = mk_pipeline();
    pipeline.metadata.name = Some("product.copy".into());
    let err = Topology::for_pipeline(&pipeline, &mk_platform()).expect_err("dotted name");
    assert!(
        matches!(err, TopologyError::NotADnsLabel { field: "name", .. }),
        "{err}"
    );
    let mut pipeline = mk_pipeline();
    pipeline.metadata.namespace = None;
    let err = Topology::for_pipeline(&pipeline, &mk_platform()).expect_err("no namespace");
    assert!(matches!(err, TopologyError::Metadata(_)), "{err}");
}

#[test]
fn analytics_topology_binds_event_types_to_the_events_exchange() {
    let topology =
        Topology::for_analytics_job(&mk_analytics_job(), &mk_platform()).expect("topology");
    let q = "machina.aj.shop.content-engagement";
    assert_eq!(topology.user, q);
    assert_eq!(
        topology.bindings,
        vec![
            BindingSpec::new(&format!("{q}.dlx"), &format!("{q}.dlq"), q),
            BindingSpec::new("machina.events", q, "content.generated.#"),
            BindingSpec::new("machina.events", q, "page.view"),
        ]
    );
    assert_eq!(
        topology.queues[1].delivery_limit,
        Some(ANALYTICS_MAX_DELIVERIES)
    );
    let (write, read) = (
        re(&topology.permissions.write),
        re(&topology.permissions.read),
    );
    assert!(read.is_match(q) && write.is_match(&format!("{q}.dlq")));
    assert!(
        !write.is_match("machina.events"),
        "analytics jobs only consume"
    );
    assert!(
        !read.is_match("machina.events"),
        "and cannot bind their queue elsewhere"
    );
    assert!(!read.is_match("machina.cp.shop.content-engagement"));
}

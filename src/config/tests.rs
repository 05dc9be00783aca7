use super::*;
use crate::nn::OptimizerKind;
use crate::objective::Corruption;

/// The first error of reading `text` and checking it for 784-wide data.
fn first_error(text: &str) -> String {
    RunConfig::parse(text, Path::new("c.toml"))
        .and_then(|c| c.check(784))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[test]
fn section_keys_are_the_sections_fields() {
    let model = section_keys("model").unwrap();
    assert!(
        model.contains(&"layers") && model.contains(&"code_distribution"),
        "{model:?}"
    );
    let train = section_keys("train").unwrap();
    assert!(
        train.contains(&"learning_rate") && train.contains(&"rule"),
        "{train:?}"
    );
    assert_eq!(section_keys("corruption").unwrap(), ["kind", "level"]);
    assert!(section_keys("nonsense").is_none());
    // every key listed parses as a key of its section (a TOML with that key alone is not
    // refused as unknown)
    for key in &train {
        let err = RunConfig::parse(
            &format!("[model]\ncode = 2\n[train]\n{key} = \"?\"\n"),
            Path::new("c"),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(!err.contains("unknown field"), "{key}: {err}");
    }
}

/// Every section's errors name the key the user wrote (`section.key`, `regularizer[i].key`),
/// whether serde or a part's check finds them.
#[test]
fn each_section_names_the_key_the_user_wrote() {
    let model = "[model]\nlayers = [16]\ncode = 4\n";
    let one = "[model]\nlayers = []\ncode = 4\ncode_activation = \"sigmoid\"\n";
    for (text, key) in [
        ("[model]\ncode = 0\n".to_string(), "model.code:"),
        ("[model]\ncode = 3000000000\n".to_string(), "model.code:"),
        ("[model]\nlayers = [0]\ncode = 4\n".to_string(), "model.layers:"),
        ("[model]\ncode = 4\nactivation = \"sigmod\"\n".to_string(), "model.activation:"),
        ("[model]\ncode = 4\ndecoder_layers = [0]\n".to_string(), "model.decoder_layers:"),
        (format!("{model}[train]\nbatch_size = 0\n"), "train.batch_size:"),
        (format!("{model}[train]\nlearning_rate = \"fast\"\n"), "train.learning_rate:"),
        (format!("{model}[train]\noptimizer = \"adamw\"\n"), "train.optimizer:"),
        (format!("{model}[train]\noptimizer = \"cg\"\nline_searches = 0\n"), "train.line_searches:"),
        (format!("{model}[train]\noptimizer = \"cg\"\nrule = \"recirculation\"\n"), "train.optimizer:"),
        (format!("{model}[corruption]\nkind = \"masking\"\nlevel = 2.0\n"), "corruption.level:"),
        (format!("{model}[corruption]\nkind = \"blur\"\nlevel = 0.1\n"), "corruption.kind:"),
        (format!("{model}[corruption]\nkind = \"masking\"\nlevel = 0.1\nsigma = 1\n"), "corruption.sigma:"),
        (format!("{model}[[regularizer]]\nkind = \"l1\"\nweight = -1.0\n"), "regularizer[0].weight:"),
        (format!("{model}[[regularizer]]\nkind = \"l1\"\nweight = \"x\"\n"), "regularizer[0].weight:"),
        (format!("{model}[[regularizer]]\nkind = \"l2\"\nweight = 1.0\n"), "regularizer[0].kind:"),
        (
            format!("{model}[[regularizer]]\nkind = \"l1\"\nweight = 1.0\n[[regularizer]]\nkind = \"l1\"\nweight = 1.0\nperplexity = 5\n"),
            "regularizer[1].perplexity:",
        ),
        (format!("{model}[[regularizer]]\nkind = \"tsne\"\nweight = 1.0\nperplexity = 0.5\n"), "regularizer[0].perplexity:"),
        (format!("{model}[[regularizer]]\nkind = \"umap\"\nweight = 1.0\nneighbors = 1\n"), "regularizer[0].neighbors:"),
        (format!("{model}[[regularizer]]\nkind = \"umap\"\nweight = 1.0\nmin_dist = \"far\"\n"), "regularizer[0].min_dist:"),
        (format!("{model}[[regularizer]]\nkind = \"kl_sparsity\"\nweight = 1.0\n"), "regularizer[0].target:"),
        (format!("{model}[[regularizer]]\nkind = \"contractive\"\nweight = 1.0\ndirections = 0\n"), "regularizer[0].directions:"),
        // CAE+H: its settings need its weight
        (format!("{one}[[regularizer]]\nkind = \"contractive\"\nweight = 1.0\nhessian_noise = 0.1\n"), "regularizer[0].hessian_noise:"),
        (format!("{one}[[regularizer]]\nkind = \"contractive\"\nweight = 1.0\nhessian_weight = 1.0\nhessian_noise = 0.0\n"), "regularizer[0].hessian_noise:"),
        (format!("{one}[[regularizer]]\nkind = \"contractive\"\nweight = 1.0\nhessian_weight = 1.0\nhessian_samples = 0\n"), "regularizer[0].hessian_samples:"),
        (format!("{model}[[regularizer]]\nkind = \"contractive\"\nweight = 1.0\nhessian_weight = -1.0\n"), "regularizer[0].hessian_weight:"),
        (format!("{one}[train]\nbatch_size = 100000\n[[regularizer]]\nkind = \"contractive\"\nweight = 1.0\nhessian_weight = 1.0\nhessian_samples = 1024\n"), "regularizer[0].hessian_samples:"),
        (format!("{model}[pretrain]\nkind = \"ica\"\n"), "pretrain.kind:"),
        (format!("{model}[data]\ntransform = \"zscore\"\n"), "data.transform:"),
        (format!("{model}[report]\nformat = \"gif\"\n"), "report.format:"),
    ] {
        let err = first_error(&text);
        assert!(err.contains(key), "{text}\n→ {err:?} does not name {key}");
    }
}

#[test]
fn errors_name_the_key() {
    let p = Path::new("c.toml");
    let err = RunConfig::parse("[model]\ncode = 3\nlayerz = [1]\n", p)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("c.toml") && err.contains("layerz") && err.contains("line 3"),
        "{err}"
    );
    let err = RunConfig::parse("[model]\ncode = 3\nactivation = \"sigmod\"\n", p)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("model.activation") && err.contains("sigmod"),
        "{err}"
    );
    let cfg = RunConfig::parse("[model]\ncode = 3\n[train]\nlearning_rate = -1.0\n", p).unwrap();
    assert!(cfg
        .train_config()
        .unwrap_err()
        .to_string()
        .contains("train.learning_rate"));
    let cfg = RunConfig::parse(
        "[model]\ncode = 3\n[[regularizer]]\nkind = \"kl_sparsity\"\nweight = 0.1\ntarget = 0.05\n",
        p,
    )
    .unwrap();
    assert!(cfg
        .train_config()
        .unwrap_err()
        .to_string()
        .contains("code_activation"));
    for (extra, key) in [
        (
            "kind = \"l1\"\nweight = 0.1\ndirections = 2\n",
            "regularizer[0].directions",
        ),
        (
            "kind = \"contractive\"\nweight = 0.1\ndirections = 0\n",
            "regularizer[0].directions",
        ),
    ] {
        let text = format!("[model]\ncode = 3\n[[regularizer]]\n{extra}");
        let err = first_error(&text);
        assert!(err.contains(key), "{err}");
    }
    let text = "[model]\ncode = 3\ncode_distribution = \"gaussian\"\n[[regularizer]]\nkind = \"contractive\"\nweight = 0.1\n";
    let err = RunConfig::parse(text, p)
        .unwrap()
        .train_config()
        .unwrap_err()
        .to_string();
    assert!(err.contains("deterministic"), "{err}");
    // deep encoders take the penalty by random directions; one-layer ones exactly
    for (layers, directions, want) in [
        ("[]", "", 0),
        ("[20]", "", 0),
        ("[20]", "directions = 4\n", 4),
    ] {
        let text = format!("[model]\nlayers = {layers}\ncode = 3\n[[regularizer]]\nkind = \"contractive\"\nweight = 0.1\n{directions}");
        let objective = RunConfig::parse(&text, p)
            .unwrap()
            .train_config()
            .unwrap()
            .objective;
        assert_eq!(
            objective.parameter_penalties,
            [ParameterPenalty::Contractive {
                weight: 0.1,
                directions: want,
                hessian: None,
            }]
        );
    }
}

#[test]
fn full_config_resolves() {
    let text = r#"
[model]
layers = [1000, 500, 250]
code = 30
activation = "sigmoid"
code_activation = "sigmoid"
output = "bernoulli"
tied = true
[train]
epochs = 3
optimizer = "sgd"
momentum = 0.5
nesterov = true
schedule = "cosine"
[corruption]
kind = "masking"
level = 0.25
[[regularizer]]
kind = "kl_sparsity"
weight = 0.1
target = 0.05
[[regularizer]]
kind = "weight_decay"
weight = 0.001
"#;
    let cfg = RunConfig::parse(text, Path::new("x")).unwrap();
    let spec = cfg.spec(784).unwrap();
    assert_eq!(spec.encoder_widths(), vec![784, 1000, 500, 250, 30]);
    assert!(spec.tied);
    let t = cfg.train_config().unwrap();
    assert_eq!(
        t.objective.corruption,
        Some(Corruption::Masking { p: 0.25 })
    );
    assert_eq!(t.objective.code_penalties.len(), 1);
    assert_eq!(t.objective.weight_decay(), 0.001);
    assert_eq!(
        t.optimizer,
        OptimizerKind::Sgd {
            momentum: 0.5,
            nesterov: true
        }
    );
    let again = RunConfig::parse(&cfg.to_toml().unwrap(), Path::new("x")).unwrap();
    assert_eq!(again, cfg);
}

#[test]
fn saved_config_shows_the_numbers_as_typed_and_keeps_section_order() {
    let text = "[model]\ncode = 8\n[train]\nlearning_rate = 1e-3\nbeta1 = 0.9\n\
                [[regularizer]]\nkind = \"contractive\"\nweight = 0.6\n";
    let cfg = RunConfig::parse(text, Path::new("x")).unwrap();
    let saved = cfg.to_toml().unwrap();
    for line in ["learning_rate = 0.001", "beta1 = 0.9", "weight = 0.6"] {
        assert!(
            saved.lines().any(|l| l == line),
            "{line:?} missing from:\n{saved}"
        );
    }
    let model_at = saved.find("[model]").unwrap();
    let train_at = saved.find("[train]").unwrap();
    let regularizer_at = saved.find("[[regularizer]]").unwrap();
    assert!(model_at < train_at && train_at < regularizer_at, "{saved}");
    assert_eq!(RunConfig::parse(&saved, Path::new("x")).unwrap(), cfg);
}

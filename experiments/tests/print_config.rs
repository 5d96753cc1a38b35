//! `--print-config`: the resolved configuration as a commented TOML file that
//! is itself a valid `--config`, and schema ranges that agree with the
//! configs' own checks.

use nnlab_agents::distributional::{C51Config, QrDqnConfig};
use nnlab_agents::sac::SacConfig;
use nnlab_agents::td3::{DdpgConfig, Td3Config};
use nnlab_agents::{a2c::A2cConfig, dqn::DqnConfig, ppo::PpoConfig, reinforce::ReinforceConfig};
use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Serialize};
use std::process::Command;

fn run(bin: &str, args: &[&str]) -> String {
    let o = Command::new(bin).args(args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn the_printed_config_documents_every_key_and_is_a_valid_config() {
    let dqn = env!("CARGO_BIN_EXE_dqn_cartpole");
    let text = run(dqn, &["--print-config", "--set", "learning_rate=1e-3", "--seed", "4"]);
    assert!(text.contains("# Adam learning rate") && text.contains("learning_rate = 0.001") && text.contains("seed = 4"), "{text}");
    assert!(text.contains("# default 0.99; a number in [0, 1]\ngamma = 0.99"), "{text}");
    let table: toml::Table = text.parse().expect("valid TOML");
    assert!(table.len() > 15);
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("printed.toml");
    std::fs::write(&file, &text).unwrap();
    let again = run(dqn, &["--print-config", "--config", file.to_str().unwrap()]);
    let body = |t: &str| t.lines().skip(2).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&again), body(&text), "printing a printed config changes nothing");
    assert!(!tmp.path().join("results").exists());
    for bin in [
        env!("CARGO_BIN_EXE_gan_mixture"),
        env!("CARGO_BIN_EXE_vae_fashion_mnist"),
        env!("CARGO_BIN_EXE_dcgan_fashion_mnist"),
        env!("CARGO_BIN_EXE_cnn_classifier"),
        env!("CARGO_BIN_EXE_cnn_fashion_mnist"),
        env!("CARGO_BIN_EXE_charlm"),
        env!("CARGO_BIN_EXE_charlm_shakespeare"),
        env!("CARGO_BIN_EXE_sentiment"),
        env!("CARGO_BIN_EXE_intent"),
    ] {
        let t = run(bin, &["--print-config"]);
        assert!(t.contains("learning_rate = ") && t.parse::<toml::Table>().is_ok(), "{bin}: {t}");
    }
    let t = run(env!("CARGO_BIN_EXE_cnn_classifier"), &["--model", "resnet", "--print-config"]);
    assert!(t.contains("model = \"resnet\"") && t.contains("schedule = \"onecycle\"") && t.contains("one of: sgd, adamw"), "{t}");
    let t = run(env!("CARGO_BIN_EXE_train"), &["--algo", "ppo", "--env", "Acrobot-v1", "--print-config"]);
    assert!(t.contains("env_id = \"Acrobot-v1\""), "{t}");
    // `--config` without `--env`: the file's env_id is the environment (here a config that is not a preset).
    let zoo = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/qrdqn/MountainCar-v0-zoo.toml");
    let t = run(env!("CARGO_BIN_EXE_train"), &["--algo", "qrdqn", "--config", zoo, "--print-config"]);
    assert!(t.contains("env_id = \"MountainCar-v0\"") && t.contains("learning_rate = 0.004") && !t.contains("final_learning_rate = 0"), "{t}");
    let t = run(env!("CARGO_BIN_EXE_charlm"), &["--model", "transformer", "--quality", "--print-config"]);
    assert!(t.contains("model = \"transformer\"") && t.contains("context = 128"), "{t}");
    let t = run(env!("CARGO_BIN_EXE_sentiment"), &["--print-config"]);
    assert!(t.contains("# default 0.0; a number in [0, 1)\nweight_average = 0.0"), "{t}");
    let t = run(env!("CARGO_BIN_EXE_intent"), &["--model", "transformer", "--print-config"]);
    assert!(t.contains("model = \"transformer\"") && t.contains("d_model = 128") && t.contains("one of: bow, bilstm, transformer"), "{t}");
    let t = run(env!("CARGO_BIN_EXE_tagger"), &["--task", "ner", "--print-config"]);
    assert!(t.contains("output = \"crf\"") && t.contains("one of: softmax, crf"), "{t}");
}

/// Every bound in a config's schema is one its `validate` enforces: just
/// beyond it fails naming the key, the bound itself passes.
fn bounds_agree<T: Default + Serialize + DeserializeOwned + JsonSchema>(validate: fn(&T) -> anyhow::Result<()>) {
    let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap();
    let mut checked = 0;
    for (key, prop) in schema["properties"].as_object().unwrap() {
        for (bound, step) in [("minimum", -0.5), ("maximum", 0.5)] {
            let Some(b) = prop.get(bound).and_then(|v| v.as_f64()) else { continue };
            if prop["type"] != "number" {
                continue;
            }
            let with = |v: f64| {
                let mut value = serde_json::to_value(T::default()).unwrap();
                value[key] = serde_json::json!(v);
                serde_json::from_value::<T>(value).unwrap()
            };
            let e = validate(&with(b + step)).expect_err(key);
            assert!(e.to_string().contains(key.as_str()), "{key}: {e}");
            if key != "tau" || b > 0.0 {
                validate(&with(b)).unwrap_or_else(|e| panic!("{key} = {b}: {e}"));
            }
            checked += 1;
        }
    }
    assert!(checked >= 2, "bounds checked: {checked}");
}

#[test]
fn schema_bounds_agree_with_validation() {
    bounds_agree::<DqnConfig>(DqnConfig::validate);
    bounds_agree::<PpoConfig>(PpoConfig::validate);
    bounds_agree::<A2cConfig>(A2cConfig::validate);
    bounds_agree::<ReinforceConfig>(ReinforceConfig::validate);
    bounds_agree::<C51Config>(C51Config::validate);
    bounds_agree::<QrDqnConfig>(QrDqnConfig::validate);
    bounds_agree::<Td3Config>(Td3Config::validate);
    bounds_agree::<DdpgConfig>(DdpgConfig::validate);
    bounds_agree::<SacConfig>(SacConfig::validate);
    bounds_agree::<nnlab_vision::CnnConfig>(nnlab_vision::CnnConfig::validate);
    bounds_agree::<nnlab_text::CharLmConfig>(nnlab_text::CharLmConfig::validate);
    bounds_agree::<nnlab_text::tagger::TaggerConfig>(nnlab_text::tagger::TaggerConfig::validate);
    bounds_agree::<nnlab_text::sentiment::SentimentConfig>(nnlab_text::sentiment::SentimentConfig::validate);
    bounds_agree::<nnlab_text::intent::IntentConfig>(nnlab_text::intent::IntentConfig::validate);
}

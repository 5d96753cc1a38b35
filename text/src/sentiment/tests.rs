//! Unit tests of the sentiment models.

use super::*;

#[test]
fn cosine_decay_anneals_once_per_epoch() {
    let constant = SentimentConfig { epochs: 4, learning_rate: 1e-3, ..Default::default() };
    assert!((1..=4).all(|e| constant.learning_rate_at(e) == 1e-3));
    let cosine = SentimentConfig { cosine_decay: true, ..constant };
    // CosineAnnealingLR(T_max = 4) over epochs 1-4: 1, (1 + cos(pi/4))/2, 1/2, (1 + cos(3pi/4))/2.
    let expected = [1e-3, 0.853_553_390_593_273_8e-3, 0.5e-3, 0.146_446_609_406_726_24e-3];
    for (e, want) in (1..=4).zip(expected) {
        assert!((cosine.learning_rate_at(e) - want).abs() < 1e-15, "epoch {e}: {}", cosine.learning_rate_at(e));
    }
}

#[test]
fn tokens_and_ngrams() {
    assert_eq!(tokenize("It's GREAT, isn't it?!"), ["it's", "great", ",", "isn't", "it", "?", "!"]);
    assert_eq!(ngrams(&tokenize("not bad at"), 2), ["not", "bad", "at", "not bad", "bad at"]);
    let s = BinaryScores::new(&[true, true, false, false], &[true, false, true, false]);
    assert_eq!((soft_target(0.0, 0.3), soft_target(0.0, -2.0)), (1.0, 0.0));
    assert!((soft_target(1.0, 0.0) - 0.5).abs() < 1e-6 && soft_target(1.0, 3.0) > 0.95 && soft_target(1.0, -0.2) < 0.5);
    assert!((s.accuracy - 0.5).abs() < 1e-12 && (s.f1 - 0.5).abs() < 1e-12);
}

#[test]
fn both_models_learn_a_clear_signal() {
    let words = |s: &str| tokenize(s);
    let train: Vec<Vec<String>> = (0..80).map(|i| words(if i % 2 == 0 { "what a good and great day" } else { "what a bad and awful day" })).collect();
    let labels: Vec<f32> = (0..80).map(|i| f32::from(u8::from(i % 2 == 0))).collect();
    let c = SentimentConfig { hidden: 8, attention: 8, word_embedding: 8, min_word_count: 1, learning_rate: 1e-2, dropout: 0.0, ..Default::default() };
    for mut m in [
        SentimentClassifier::bag_of_words(c.clone(), &train, None, Device::Cpu).unwrap(),
        SentimentClassifier::bilstm_attention(c.clone(), &train, None, Device::Cpu).unwrap(),
        SentimentClassifier::bilstm_attention(SentimentConfig { max_pooling: true, ..c.clone() }, &train, None, Device::Cpu).unwrap(),
    ] {
        for _ in 0..5 {
            m.train_epoch(&train, &labels).unwrap();
        }
        let (p, a) = m.predict(&train[..2]).unwrap();
        assert!(p[0] > 0.5 && p[1] < 0.5, "{p:?}");
        for w in &a {
            assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-5 && w.len() == 6);
        }
    }
}

#[test]
fn the_moving_average_of_the_weights_is_what_is_evaluated_and_kept() {
    let train: Vec<Vec<String>> = (0..40).map(|i| tokenize(if i % 2 == 0 { "a good day" } else { "a bad day" })).collect();
    let labels: Vec<f32> = (0..40).map(|i| f32::from(u8::from(i % 2 == 0))).collect();
    let c = SentimentConfig { hidden: 4, attention: 4, word_embedding: 4, min_word_count: 1, learning_rate: 1e-2, weight_average: 0.9, ..Default::default() };
    let mut m = SentimentClassifier::bilstm_attention(c, &train, None, Device::Cpu).unwrap();
    m.train_epoch(&train, &labels).unwrap();
    let trained = m.predict(&train[..2]).unwrap().0;
    let evaluated = m.with_evaluated_weights(|m| m.predict(&train[..2])).unwrap().0;
    assert_ne!(trained, evaluated);
    assert_eq!(m.predict(&train[..2]).unwrap().0, trained, "training goes on from the trained weights");
    m.restore_snapshot(&m.snapshot()).unwrap();
    assert_eq!(m.predict(&train[..2]).unwrap().0, evaluated, "the kept snapshot is the average");
    let bad = SentimentConfig { weight_average: 1.0, ..Default::default() };
    assert!(bad.validate().unwrap_err().to_string().starts_with("weight_average must be in [0, 1)"));
}

#[test]
fn padding_does_not_change_a_sentences_prediction() {
    let train: Vec<Vec<String>> = ["a good day", "what an awful and bad long day it was"].iter().map(|s| tokenize(s)).collect();
    let c = SentimentConfig { hidden: 4, attention: 4, word_embedding: 4, min_word_count: 1, max_pooling: true, ..Default::default() };
    let m = SentimentClassifier::bilstm_attention(c, &train, None, Device::Cpu).unwrap();
    let (alone, _) = m.predict(&train[..1]).unwrap();
    let (padded, _) = m.predict(&train).unwrap();
    assert!((alone[0] - padded[0]).abs() < 1e-6, "{alone:?} {padded:?}");
}

#[test]
fn valence_features_carry_a_signal_the_words_do_not() {
    // Every word is below min_word_count (unknown): only the prior valences tell the classes apart.
    let train: Vec<Vec<String>> = (0..80).map(|i| tokenize(if i % 2 == 0 { "a good day" } else { "an awful day" })).collect();
    let labels: Vec<f32> = (0..80).map(|i| f32::from(u8::from(i % 2 == 0))).collect();
    let valences: Valences = [("good".to_string(), 1.9), ("awful".to_string(), -2.0)].into_iter().collect();
    let c = SentimentConfig {
        hidden: 8,
        attention: 8,
        word_embedding: 8,
        min_word_count: 1000,
        learning_rate: 1e-2,
        baseline_learning_rate: 1e-1,
        dropout: 0.0,
        valence_features: true,
        ..Default::default()
    };
    let missing = SentimentClassifier::bilstm_attention(c.clone(), &train, None, Device::Cpu).err().unwrap().to_string();
    assert!(missing.contains("valence_features"), "{missing}");
    for mut m in [
        SentimentClassifier::bag_of_words(c.clone(), &train, Some(&valences), Device::Cpu).unwrap(),
        SentimentClassifier::bilstm_attention(c.clone(), &train, Some(&valences), Device::Cpu).unwrap(),
    ] {
        for _ in 0..5 {
            m.train_epoch(&train, &labels).unwrap();
        }
        let (p, _) = m.predict(&train[..2]).unwrap();
        assert!(p[0] > 0.5 && p[1] < 0.5, "{p:?}");
    }
}

package dev.allinone.ai;

/** The two polarities the sentiment task answers with (verbalised for the model in prompts/labels.properties). */
public enum Sentiment {
    POSITIVE,
    NEGATIVE
}

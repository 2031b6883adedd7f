package dev.allinone.engine;

import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.QwenJlamaModel;
import dev.allinone.engine.model.Transformer;
import dev.allinone.engine.kv.PrefixCache;

/** What a job needs of its engine. */
record JobContext(LoadedModel model, Transformer transformer, PrefixCache prefixCache, EngineCounters counters) {

    QwenJlamaModel jlama() {
        return model.jlama();
    }
}

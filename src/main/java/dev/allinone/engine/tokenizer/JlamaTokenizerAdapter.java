package dev.allinone.engine.tokenizer;

import com.github.tjake.jlama.safetensors.prompt.PromptSupport;
import com.github.tjake.jlama.safetensors.tokenizer.Tokenizer;
import com.github.tjake.jlama.safetensors.tokenizer.TokenizerModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Puts our Hugging Face-exact tokenizer where Jlama expects its own (whose Qwen byte mapping drops Chinese and
 * which prepends a BOS). Prompt templating is ours ({@link ChatTemplate}), so Jlama's prompt support is absent.
 */
public final class JlamaTokenizerAdapter implements Tokenizer {

    private final QwenTokenizer tokenizer;

    public JlamaTokenizerAdapter(QwenTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    @Override
    public List<String> tokenize(String sentence) {
        List<String> pieces = new ArrayList<>();
        for (int id : tokenizer.encode(sentence)) {
            pieces.add(tokenizer.tokenText(id));
        }
        return pieces;
    }

    @Override
    public long[] encode(String sentence) {
        return Arrays.stream(tokenizer.encode(sentence)).asLongStream().toArray();
    }

    @Override
    public String decode(long id) {
        return tokenizer.decode(new int[] {Math.toIntExact(id)});
    }

    @Override
    public String decode(long[] ids) {
        return tokenizer.decode(Arrays.stream(ids).mapToInt(Math::toIntExact).toArray());
    }

    @Override
    public Optional<PromptSupport> promptSupport() {
        return Optional.empty();
    }

    @Override
    public TokenizerModel getModel() {
        throw new UnsupportedOperationException("Jlama's tokenizer model is not used: the service tokenizes with QwenTokenizer");
    }
}

package dev.allinone.engine.kv;

/**
 * How the KV cache stores keys and values ({@code allinone.engine.kv-cache-type}).
 * <ul>
 * <li>{@link #F16}: half-precision floats, 2 bytes a value.</li>
 * <li>{@link #Q8}: per position, layer and head, the head's row of keys (or values) as signed bytes with one
 * half-precision scale ({@code max|x| / 127}, values rounded to the nearest multiple): {@code (headSize + 2) / headSize}
 * bytes a value, 1.03 for head size 64, so a budget holds 1.94× the tokens of {@link #F16} (2.0 / 1.03).</li>
 * </ul>
 */
public enum KvCacheType {
    F16, Q8
}

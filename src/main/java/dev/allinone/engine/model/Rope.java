package dev.allinone.engine.model;

/**
 * Rotary position embedding as Qwen2 (and Hugging Face's {@code rotate_half}) applies it: dimension {@code j} of
 * each head's first half turns with dimension {@code j + headSize/2} by {@code position / theta^(2j/headSize)}.
 */
final class Rope {

    private final int half;
    private final float[] cos;
    private final float[] sin;

    Rope(int headSize, int contextLength, double theta) {
        this.half = headSize / 2;
        this.cos = new float[contextLength * half];
        this.sin = new float[contextLength * half];
        for (int p = 0; p < contextLength; p++) {
            for (int j = 0; j < half; j++) {
                double angle = p / Math.pow(theta, 2.0 * j / headSize);
                cos[p * half + j] = (float) Math.cos(angle);
                sin[p * half + j] = (float) Math.sin(angle);
            }
        }
    }

    /** Rotates every head of the row starting at {@code offset} ({@code heads × headSize} values). */
    void rotate(float[] x, int offset, int heads, int position) {
        int t = position * half;
        for (int h = 0; h < heads; h++) {
            int base = offset + h * 2 * half;
            for (int j = 0; j < half; j++) {
                float a = x[base + j];
                float b = x[base + j + half];
                float c = cos[t + j];
                float s = sin[t + j];
                x[base + j] = a * c - b * s;
                x[base + j + half] = a * s + b * c;
            }
        }
    }
}

// avatar4j live demo: an AudioWorklet that turns the audio it is given (the microphone, or a file
// being played) into 16-bit mono PCM chunks of processorOptions.chunk samples, posted to the page
// with the sum of their squares (for the page's level meter and its record of what it sent).
class PcmCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = Math.max(128, (options.processorOptions && options.processorOptions.chunk) || 960);
    this.buf = new Int16Array(this.size);
    this.n = 0;
    this.sumSq = 0;
    // {flush: true}: post what is buffered now (the end of an utterance), marked flushed
    this.port.onmessage = e => {
      if (e.data && e.data.flush) {
        const part = this.buf.slice(0, this.n);
        this.port.postMessage({pcm: part.buffer, sumSq: this.sumSq, flushed: true}, [part.buffer]);
        this.n = 0;
        this.sumSq = 0;
      }
    };
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0]; // mono: the node down-mixes its input to one channel
    if (channel) {
      for (let i = 0; i < channel.length; i++) {
        const v = Math.max(-1, Math.min(1, channel[i]));
        this.sumSq += v * v;
        this.buf[this.n++] = v < 0 ? Math.round(v * 32768) : Math.round(v * 32767);
        if (this.n === this.size) {
          this.port.postMessage({pcm: this.buf.buffer, sumSq: this.sumSq}, [this.buf.buffer]);
          this.buf = new Int16Array(this.size);
          this.n = 0;
          this.sumSq = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor('pcm16-capture', PcmCapture);

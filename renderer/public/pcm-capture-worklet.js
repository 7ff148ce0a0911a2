// AudioWorklet processor: forwards the first input channel's raw float samples to the main thread
// in ~100 ms batches (the recorder concatenates them into the PCM it sends to the service).
class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.buffer = new Float32Array(4096);
    this.length = 0;
    this.port.onmessage = (e) => {
      if (e.data === 'flush') {
        this.flush();
        this.port.postMessage('flushed');
      }
    };
  }

  flush() {
    if (this.length > 0) {
      this.port.postMessage(this.buffer.slice(0, this.length));
      this.length = 0;
    }
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) {
      if (this.length + channel.length > this.buffer.length) this.flush();
      this.buffer.set(channel, this.length);
      this.length += channel.length;
    }
    return true;
  }
}

registerProcessor('pcm-capture', PcmCapture);

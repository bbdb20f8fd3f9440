// The training controls: the α set, K, the dropout rate and the learning rate, with pause /
// resume and restart; the checkpoint buttons (download one α's model, upload a checkpoint).
// The learning rate applies at once ('set'); α, K and dropout change the models, so they
// apply when the user restarts.

import type { TrainConfig } from './protocol.js';
import { alphaColor, alphaLabel } from './palette.js';

export interface ControlHandlers {
  restart: (config: TrainConfig) => void;
  learningRate: (value: number) => void;
  togglePause: () => void;
  download: (alpha: number) => void;
  upload: (file: File) => void;
}

const PAPER_ALPHAS = [0, 0.5, 1];

function field(label: string, input: HTMLElement, hint?: string): HTMLLabelElement {
  const l = document.createElement('label');
  l.className = 'field';
  const name = document.createElement('span');
  name.textContent = label;
  l.append(name, input);
  if (hint) l.title = hint;
  return l;
}

function numberInput(value: number, min: number, max: number, step: number | 'any'): HTMLInputElement {
  const input = document.createElement('input');
  input.type = 'number';
  Object.assign(input, { min: String(min), max: String(max), step: String(step), value: String(value) });
  return input;
}

function button(text: string, onClick: () => void, className = ''): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.className = className;
  b.addEventListener('click', onClick);
  return b;
}

export class Controls {
  private config: TrainConfig;
  private readonly alphaBoxes = new Map<number, HTMLInputElement>();
  private readonly alphaHost = document.createElement('div');
  private readonly samples: HTMLInputElement;
  private readonly dropout: HTMLInputElement;
  private readonly learningRate: HTMLInputElement;
  private readonly pause: HTMLButtonElement;
  private readonly downloads = document.createElement('div');
  private readonly message = document.createElement('p');

  constructor(host: HTMLElement, config: TrainConfig, private readonly on: ControlHandlers) {
    this.config = config;
    this.alphaHost.className = 'alphas';
    this.samples = numberInput(config.samples, 1, 100, 1);
    this.dropout = numberInput(config.dropout, 0, 0.95, 0.05);
    this.learningRate = numberInput(config.learningRate, 1e-6, 1, 'any');
    this.learningRate.addEventListener('change', () => {
      const v = Number(this.learningRate.value);
      if (Number.isFinite(v) && v > 0) on.learningRate(v);
      else this.say(`learning rate: expected a positive number, got "${this.learningRate.value}"`);
    });
    this.pause = button('Pause', () => on.togglePause(), 'primary');
    const restart = button('Restart', () => this.restart());
    restart.title = 'start new models with the α set, K and dropout rate above';

    const upload = document.createElement('input');
    upload.type = 'file';
    upload.accept = '.safetensors';
    upload.addEventListener('change', () => {
      const file = upload.files?.[0];
      if (file) on.upload(file);
      upload.value = '';
    });
    const uploadLabel = field('Upload checkpoint', upload, 'replaces (or adds) the model of the checkpoint’s α');
    uploadLabel.classList.add('upload');
    this.downloads.className = 'downloads';
    this.message.className = 'control-message';
    this.message.setAttribute('role', 'status');

    const training = document.createElement('div');
    training.className = 'control-group';
    training.append(
      field('α (models)', this.alphaHost, 'one model per α, trained side by side'),
      field('K (MC samples)', this.samples, 'samples per input in the BB-α loss'),
      field('dropout p', this.dropout, 'probability of dropping a unit'),
      field('learning rate', this.learningRate, 'applies at once'),
    );
    const actions = document.createElement('div');
    actions.className = 'control-actions';
    actions.append(this.pause, restart);
    const checkpoints = document.createElement('div');
    checkpoints.className = 'control-group';
    const downloadField = field('Download checkpoint', this.downloads, 'safetensors, as the Node library reads it');
    checkpoints.append(downloadField, uploadLabel);
    host.append(training, actions, checkpoints, this.message);
    this.show(config);
  }

  /** Shows a configuration (the one the worker confirmed). */
  show(config: TrainConfig): void {
    this.config = config;
    this.samples.value = String(config.samples);
    this.dropout.value = String(config.dropout);
    this.learningRate.value = String(config.learningRate);
    this.setAlphas(config.alphas);
  }

  /** The α boxes (the paper's three and any other in use) and one download button per trained α. */
  setAlphas(trained: number[]): void {
    const all = [...new Set([...PAPER_ALPHAS, ...trained, ...this.alphaBoxes.keys()])].sort((a, b) => a - b);
    this.alphaHost.replaceChildren();
    for (const alpha of all) {
      const box = this.alphaBoxes.get(alpha) ?? document.createElement('input');
      box.type = 'checkbox';
      box.checked = trained.includes(alpha);
      box.value = String(alpha);
      this.alphaBoxes.set(alpha, box);
      const l = document.createElement('label');
      l.className = 'alpha-choice';
      l.style.setProperty('--series', alphaColor(alpha));
      l.append(box, String(alpha));
      this.alphaHost.append(l);
    }
    this.downloads.replaceChildren(
      ...[...trained].sort((a, b) => a - b).map((alpha) => {
        const b = button(alphaLabel(alpha), () => this.on.download(alpha), 'download');
        b.dataset.alpha = String(alpha);
        b.style.setProperty('--series', alphaColor(alpha));
        return b;
      }),
    );
  }

  setPaused(paused: boolean): void {
    this.pause.textContent = paused ? 'Resume' : 'Pause';
    this.pause.dataset.paused = String(paused);
  }

  say(text: string): void {
    this.message.textContent = text;
  }

  private restart(): void {
    const alphas = [...this.alphaBoxes].filter(([, b]) => b.checked).map(([a]) => a);
    const samples = Number(this.samples.value), dropout = Number(this.dropout.value), learningRate = Number(this.learningRate.value);
    const problems = [
      alphas.length === 0 ? 'choose at least one α' : '',
      Number.isInteger(samples) && samples >= 1 && samples <= 100 ? '' : `K: expected an integer in [1, 100], got "${this.samples.value}"`,
      dropout >= 0 && dropout <= 0.95 ? '' : `dropout: expected a number in [0, 0.95], got "${this.dropout.value}"`,
      learningRate > 0 ? '' : `learning rate: expected a positive number, got "${this.learningRate.value}"`,
    ].filter(Boolean);
    if (problems.length) return this.say(problems.join('; '));
    this.say('');
    this.on.restart({ ...this.config, alphas, samples, dropout, learningRate });
  }
}

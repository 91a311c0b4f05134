// An app that uses the package through a bundler: imported by its package name, the worker and
// the wasm found by Vite from the package's `new URL(..., import.meta.url)` references.
import { ImageClassifier } from 'image-classifier';

const classifier = await ImageClassifier.load('models/efficientnet-lite0');
window.classifyUrl = async (url) => (await classifier.classify(await (await fetch(url)).blob())).top;
document.documentElement.dataset.state = 'ready';

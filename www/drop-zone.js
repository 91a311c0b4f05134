// Make an element accept a dropped file: highlights it (class "dragging") while a file is over it
// and calls onFile(file) with the first dropped file. Shared by the page and the widget.

export function acceptDrops(zone, onFile) {
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('dragging');
    const file = [...(e.dataTransfer?.files ?? [])].find((f) => f instanceof File);
    if (file) onFile(file);
  });
}

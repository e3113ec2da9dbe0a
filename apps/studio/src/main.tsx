import { render } from 'preact';

render(<main><h1>Banatie Studio</h1></main>, document.getElementById('app')!);
